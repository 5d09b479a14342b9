/**
 * The contract between the lifecycle constructs (synth side) and the sweeper handler: the configuration asset a stack's
 * sweeper reads, the event a scheduled run receives, the custom resource's properties and attributes, and the summary
 * each run logs. Both sides import this file, so that the names cannot drift.
 */

/** How a rule selects images by their tags, as ECR lifecycle policies name it. */
export type RuleTagStatus = 'tagged' | 'untagged' | 'any';

/** How a rule counts, as ECR lifecycle policies name it. */
export type RuleCountType = 'imageCountMoreThan' | 'sinceImagePushed';

/** One rule, in the terms of an ECR lifecycle policy (`selection` flattened; the action is always `expire`). */
export interface RuleSpec {
  readonly rulePriority: number;
  readonly description?: string;
  readonly tagStatus: RuleTagStatus;
  readonly tagPrefixList?: string[];
  readonly tagPatternList?: string[];
  readonly countType: RuleCountType;
  /** Images kept (`imageCountMoreThan`), or the age in days past which images expire (`sinceImagePushed`). */
  readonly countNumber: number;
}

/** The lifecycle of one repository. */
export interface RepositoryLifecycle {
  readonly repositoryName: string;
  /** The rules, ordered by `rulePriority`. */
  readonly rules: RuleSpec[];
  /** `dry-run`: report what would expire, delete nothing. */
  readonly mode: 'expire' | 'dry-run';
  /** The EventBridge schedule expression whose runs sweep this repository (`rate(1 day)`). */
  readonly schedule: string;
  /** Tags the app's PublicImages publish into this repository: the images carrying them are never expired. */
  readonly protectedTags: string[];
}

/** The content of a stack's sweeper configuration asset. */
export interface SweeperConfig {
  readonly version: 1;
  readonly repositories: RepositoryLifecycle[];
}

/** Where the configuration asset is: the scheduled event and the custom resource both carry it. */
export interface ConfigLocation {
  readonly ConfigBucket: string;
  readonly ConfigKey: string;
}

/** Marks the event of a scheduled run (EventBridge delivers it through an input transformer). */
export const SCHEDULED_SWEEP = 'cdk-ecr-public:lifecycle-sweep';

/** The event of a scheduled run. */
export interface ScheduledSweepEvent extends ConfigLocation {
  readonly kind: typeof SCHEDULED_SWEEP;
  /** The schedule expression that fired: only the repositories on it are swept. Absent: every repository. */
  readonly schedule?: string;
  /** The event's time (ISO 8601), taken as "now" for image ages. @default - the clock of the function */
  readonly time?: string;
  /** Report only, whatever the repositories' mode (the local `sweep --dry-run`). */
  readonly dryRun?: boolean;
}

/** Properties of `Custom::EcrPublicLifecycleSweep`: a sweep at deploy of the repositories whose lifecycle changed. */
export type LifecycleSweepProperties = ConfigLocation;

/** Attributes of `Custom::EcrPublicLifecycleSweep` (Fn::GetAtt names), as strings. */
export interface LifecycleSweepAttributes {
  /** Images deleted by this deploy's sweep. */
  readonly ExpiredImages: string;
  /** Images a dry-run repository would have lost. */
  readonly WouldExpireImages: string;
  /** Repositories swept. */
  readonly SweptRepositories: string;
  /** 'false' when the sweep stopped before the function's timeout; the next scheduled run continues. */
  readonly Complete: string;
}

/** The JSON summary logged for each repository swept (one line each). */
export interface RepositorySweepSummary {
  readonly repository: string;
  readonly dryRun: boolean;
  readonly imagesSeen: number;
  /** Deleted (or, in a dry run, that would be). */
  readonly expired: number;
  readonly kept: number;
  /** Expired images per rule priority. */
  readonly byRule: Record<string, number>;
  /** Selected by a rule but carrying a tag a PublicImage of the app publishes. */
  readonly keptProtected: string[];
  /** Selected by a rule but still referenced by an image index of the repository. */
  readonly keptReferenced: string[];
  /** False when the run stopped before the function's timeout. */
  readonly complete: boolean;
  /** Deletions the service refused for another reason (`<digest>: <code>: <reason>`). */
  readonly failures: string[];
}

/** A repository's summary as a run returns it: with, in a dry run, what would have been deleted. */
export interface RepositorySweepResult extends RepositorySweepSummary {
  /** In a dry run: the images that would be deleted (`digest [tags] rule N`), at most 500. @default - none listed */
  readonly wouldExpire?: string[];
}

/** What a scheduled run returns (the local `sweep` reads it, as a client of this contract). */
export interface ScheduledSweepResult {
  /** The "now" image ages were measured from (ISO 8601). */
  readonly now: string;
  readonly repositories: RepositorySweepResult[];
  /** Repositories not reached before the deadline. */
  readonly notReached: string[];
}
