/**
 * Lifecycle rules of a public repository (synth side). The shape and the meaning are those of aws-cdk-lib's aws-ecr
 * `LifecycleRule` and of ECR's lifecycle policies; ECR Public has no lifecycle policies, so the stack's sweeper function
 * applies them.
 */
import { Duration, aws_events as events } from 'aws-cdk-lib';

/** Which images a rule selects by their tags. */
export enum TagStatus {
  /** Every image. Only one rule may select `ANY`, and it must have the highest priority number (evaluated last). */
  ANY = 'any',
  /** Images with a tag that matches the rule's `tagPrefixList` or `tagPatternList`. */
  TAGGED = 'tagged',
  /** Images without tags. */
  UNTAGGED = 'untagged',
}

/** What a sweep does with the images the rules select. */
export enum LifecycleMode {
  /** Delete them. */
  EXPIRE = 'expire',
  /** Log what would be deleted, and delete nothing. */
  DRY_RUN = 'dry-run',
}

/** A lifecycle rule: which images it selects, and how many of them (or how old) it keeps. */
export interface LifecycleRule {
  /**
   * The order in which rules are evaluated, low to high; unique within the repository. An image selected by a rule is
   * never expired by a rule of a higher number.
   * @default - after every rule with an explicit priority (the `ANY` rule last)
   */
  readonly rulePriority?: number;

  /**
   * What the rule is for; it appears in the sweeper's logs.
   * @default - no description
   */
  readonly description?: string;

  /**
   * Which images the rule selects.
   * @default TagStatus.TAGGED with a tagPrefixList or tagPatternList, TagStatus.ANY without
   */
  readonly tagStatus?: TagStatus;

  /**
   * Select images that have, for each prefix, a tag starting with it. Only with `TagStatus.TAGGED`; not with
   * `tagPatternList`.
   * @default - none
   */
  readonly tagPrefixList?: string[];

  /**
   * Select images that have, for each pattern, a tag matching it; `*` matches any characters (at most four per
   * pattern). Only with `TagStatus.TAGGED`; not with `tagPrefixList`.
   * @default - none
   */
  readonly tagPatternList?: string[];

  /**
   * Keep the newest `maxImageCount` selected images; expire the older ones. Give exactly one of `maxImageCount` and
   * `maxImageAge`.
   * @default - none
   */
  readonly maxImageCount?: number;

  /**
   * Expire selected images pushed longer ago than this, a whole number of days. Give exactly one of `maxImageCount`
   * and `maxImageAge`.
   * @default - none
   */
  readonly maxImageAge?: Duration;
}

/** The lifecycle properties of a repository. */
export interface LifecycleOptions {
  /**
   * Lifecycle rules, applied by the stack's sweeper function on the schedule, and at deploy when they change (ECR
   * Public has no lifecycle policies of its own). Add more with `addLifecycleRule`.
   * @default - no rules: no image is ever expired
   */
  readonly lifecycleRules?: LifecycleRule[];

  /**
   * When the rules are applied.
   * @default Schedule.rate(Duration.days(1))
   */
  readonly lifecycleSchedule?: events.Schedule;

  /**
   * Whether the sweeper deletes the images the rules select, or only logs them.
   * @default LifecycleMode.EXPIRE
   */
  readonly lifecycleMode?: LifecycleMode;
}
