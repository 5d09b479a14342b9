/**
 * Synth-time checks of lifecycle rules: every rule aws-cdk-lib's aws-ecr checks, and the limits ECR puts on lifecycle
 * policies (which no service checks here, ECR Public having none). Errors name the construct path, the property and
 * the rule. Rules become `RuleSpec`s, ECR's own terms, with their priorities assigned as aws-ecr assigns them.
 */
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { LifecycleRule, TagStatus } from './lifecycle-rule';
import { invalid } from '../private/validation';
import { RuleSpec } from '../shared/lifecycle-contract';

/** ECR's limit on `*` wildcards in one tag pattern. */
const MAX_WILDCARDS = 4;

/**
 * Checks `rule` (the property `prop` of `scope`) on its own and against the repository's `existing` rules; returns it
 * with its `tagStatus` filled in.
 */
export function checkLifecycleRule(scope: IConstruct, prop: string, rule: LifecycleRule, existing: readonly LifecycleRule[]): LifecycleRule {
  const lists = (rule.tagPrefixList?.length ?? 0) > 0 || (rule.tagPatternList?.length ?? 0) > 0;
  const tagStatus = tagStatusOf(rule);
  const shown = describeRule(rule);
  if (tagStatus === TagStatus.TAGGED && !lists) invalid(scope, prop, 'with TagStatus.TAGGED needs a tagPrefixList or a tagPatternList', shown);
  if (tagStatus !== TagStatus.TAGGED && (rule.tagPrefixList !== undefined || rule.tagPatternList !== undefined)) {
    invalid(scope, prop, 'may have a tagPrefixList or a tagPatternList only with TagStatus.TAGGED', shown);
  }
  if (rule.tagPrefixList !== undefined && rule.tagPatternList !== undefined) {
    invalid(scope, prop, 'must not have both a tagPrefixList and a tagPatternList', shown);
  }
  checkTagList(scope, `${prop}.tagPrefixList`, rule.tagPrefixList);
  checkTagList(scope, `${prop}.tagPatternList`, rule.tagPatternList);
  rule.tagPatternList?.forEach((pattern, i) => {
    const wildcards = pattern.split('*').length - 1;
    if (wildcards > MAX_WILDCARDS) {
      invalid(scope, `${prop}.tagPatternList[${i}]`, `must have at most ${MAX_WILDCARDS} wildcard characters (*)`, `${wildcards} in ${JSON.stringify(pattern)}`);
    }
  });
  if ((rule.maxImageAge !== undefined) === (rule.maxImageCount !== undefined)) {
    invalid(scope, prop, "must have exactly one of 'maxImageAge' and 'maxImageCount'", shown);
  }
  if (rule.maxImageCount !== undefined && !isWholeNumberFromOne(rule.maxImageCount)) {
    invalid(scope, `${prop}.maxImageCount`, 'must be a whole number of at least 1, known at synth', String(rule.maxImageCount));
  }
  if (rule.maxImageAge !== undefined) {
    const hours = rule.maxImageAge.isUnresolved() ? NaN : rule.maxImageAge.toHours({ integral: false });
    if (!(hours >= 24) || hours % 24 !== 0) {
      invalid(scope, `${prop}.maxImageAge`, 'must be a whole number of days, at least one, known at synth', rule.maxImageAge.toString());
    }
  }
  if (rule.rulePriority !== undefined && !isWholeNumberFromOne(rule.rulePriority)) {
    invalid(scope, `${prop}.rulePriority`, 'must be a whole number of at least 1, known at synth', String(rule.rulePriority));
  }
  if (tagStatus === TagStatus.ANY && existing.some((r) => tagStatusOf(r) === TagStatus.ANY)) {
    invalid(scope, prop, 'is a second TagStatus.ANY rule; a repository may have only one', shown);
  }
  if (tagStatus === TagStatus.UNTAGGED && existing.some((r) => tagStatusOf(r) === TagStatus.UNTAGGED)) {
    invalid(scope, prop, 'is a second TagStatus.UNTAGGED rule; ECR allows only one rule to select untagged images', shown);
  }
  if (rule.rulePriority !== undefined && existing.some((r) => r.rulePriority === rule.rulePriority)) {
    invalid(scope, `${prop}.rulePriority`, 'must be unique within the repository', String(rule.rulePriority));
  }
  return { ...rule, tagStatus };
}

/**
 * The checked rules in priority order, as ECR rule specs: rules without a priority follow the highest explicit one, in
 * the order they were added, and the `ANY` rule comes last (as aws-ecr orders them).
 */
export function lifecycleRuleSpecs(scope: IConstruct, prop: string, rules: readonly LifecycleRule[]): RuleSpec[] {
  const isAny = (r: LifecycleRule) => r.tagStatus === TagStatus.ANY;
  const prioritized = rules.filter((r) => r.rulePriority !== undefined && !isAny(r));
  const automatic = rules.filter((r) => r.rulePriority === undefined && !isAny(r));
  const anyRules = rules.filter(isAny);
  if (anyRules.length > 0 && anyRules[0].rulePriority !== undefined && automatic.length > 0) {
    invalid(scope, prop, 'cannot combine a TagStatus.ANY rule that has a rulePriority with rules that have none; remove rulePriority from the ANY rule');
  }
  let next = Math.max(0, ...prioritized.map((r) => r.rulePriority!)) + 1;
  const ordered = [...prioritized, ...automatic, ...anyRules].map((r) => ({ ...r, rulePriority: r.rulePriority ?? next++ }));
  const any = ordered.find(isAny);
  const highest = Math.max(...ordered.map((r) => r.rulePriority));
  if (any && any.rulePriority !== highest) {
    invalid(scope, prop, `must give the TagStatus.ANY rule the highest priority number; it has ${any.rulePriority}, below ${highest}`);
  }
  return ordered.sort((a, b) => a.rulePriority - b.rulePriority).map(toSpec);
}

function toSpec(rule: LifecycleRule & { rulePriority: number }): RuleSpec {
  const byAge = rule.maxImageAge !== undefined;
  return {
    rulePriority: rule.rulePriority,
    ...(rule.description !== undefined ? { description: rule.description } : {}),
    tagStatus: rule.tagStatus ?? TagStatus.ANY,
    ...(rule.tagPrefixList !== undefined ? { tagPrefixList: [...rule.tagPrefixList] } : {}),
    ...(rule.tagPatternList !== undefined ? { tagPatternList: [...rule.tagPatternList] } : {}),
    countType: byAge ? 'sinceImagePushed' : 'imageCountMoreThan',
    countNumber: byAge ? rule.maxImageAge!.toDays() : rule.maxImageCount!,
  };
}

/** The rule's tagStatus, or aws-ecr's default: TAGGED when it has a tag list, ANY when not. */
function tagStatusOf(rule: LifecycleRule): TagStatus {
  return rule.tagStatus ?? (rule.tagPrefixList === undefined && rule.tagPatternList === undefined ? TagStatus.ANY : TagStatus.TAGGED);
}

function isWholeNumberFromOne(value: number): boolean {
  return !Token.isUnresolved(value) && Number.isInteger(value) && value >= 1;
}

function checkTagList(scope: IConstruct, prop: string, list: readonly string[] | undefined): void {
  list?.forEach((value, i) => {
    if (Token.isUnresolved(value)) invalid(scope, `${prop}[${i}]`, 'must be known at synth (the sweeper reads its rules from an asset)');
    if (value.length < 1 || value.length > 300) invalid(scope, `${prop}[${i}]`, 'must be 1 to 300 characters (a tag\'s length)', JSON.stringify(value));
  });
}

function describeRule(rule: LifecycleRule): string {
  return JSON.stringify({ ...rule, maxImageAge: rule.maxImageAge?.toString() });
}
