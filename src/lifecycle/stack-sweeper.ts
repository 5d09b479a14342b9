/**
 * The stack's lifecycle sweeper (synth side): one function per stack, whatever the number of repositories with rules.
 * Their rules, modes, schedules and protected tags go into one content-addressed S3 asset that the function reads, so
 * that hundreds of repositories add no resource and almost no template: an EventBridge rule per distinct schedule, a
 * custom resource that sweeps at deploy the repositories whose lifecycle changed, and one IAM statement naming the
 * repositories (the only ones the function may read and delete images of).
 *
 * Everything is built once the app is complete (in an aspect), so that rules added after a repository was made count.
 */
import { createHash } from 'crypto';
import {
  Aspects, CustomResource, Duration, IAspect, Stack, Token, aws_events as events, aws_events_targets as targets, aws_iam as iam,
  aws_lambda as lambda,
} from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { publicationsInto } from './published-tags';
import { stageContentAsset } from '../private/file-asset';
import { addToHandlerRole, allow, allowAssetObjects, handlerFunction, handlerResource, HandlerFunctionOptions, repositoryArnFor } from '../private/handler-function';
import { invalid } from '../private/validation';
import { HANDLER_KINDS, RESOURCE_TYPES } from '../shared/handler-contract';
import {
  LifecycleSweepProperties, RepositoryLifecycle, RuleSpec, SCHEDULED_SWEEP, ScheduledSweepEvent, SweeperConfig,
} from '../shared/lifecycle-contract';

/**
 * What the sweeper reads and deletes; nothing else, and only on the repositories that have rules. DescribeRepositories
 * gives it the repository's URI, whose registry API (anonymous, as anyone pulls) tells it which images are referrers.
 */
export const SWEEPER_ACTIONS = ['ecr-public:DescribeImages', 'ecr-public:DescribeRepositories', 'ecr-public:BatchDeleteImage'];

/**
 * The longest a Lambda function runs: a sweep of many large repositories stops before it and the next run continues.
 * The deploy-time sweep uses the same function (CloudFormation waits for it).
 */
const FUNCTION_OPTIONS: HandlerFunctionOptions = { timeout: Duration.minutes(15) };

/** A repository with lifecycle rules, as the stack's sweeper sees it. */
export interface SweptRepository {
  /** The repository construct (the deploy-time sweep runs after it, and after the images published into it). */
  readonly repository: IConstruct;
  /** The repository's resource: the sweep at deploy waits for it. */
  readonly resource: IConstruct;
  readonly repositoryName: string;
  /** The repository's rules as they are when the app is complete. */
  readonly rules: () => RuleSpec[];
  readonly mode: RepositoryLifecycle['mode'];
  readonly schedule: events.Schedule;
  /** The runtime the repository pinned for the sweeper (`handlerRuntime`). */
  readonly runtime?: lambda.Runtime;
}

const SWEEPER_ID = 'EcrPublicLifecycleSweeper';

/**
 * IAM counts a policy's characters without whitespace: an ARN costs at most its longest partition's form, its name,
 * two quotes and a comma. Up to `INLINE_BUDGET` the grant joins the role's inline policy (which IAM caps at 10,240 for
 * all of them together); beyond, it is split into managed policies of at most `MANAGED_BUDGET` (IAM's cap: 6,144).
 */
const ARN_OVERHEAD = 'arn:aws-iso-b:ecr-public::123456789012:repository/""'.length + 1;
const INLINE_BUDGET = 3_000;
const MANAGED_BUDGET = 5_500;

/** The tags, known at synth, that the app's PublicImages publish into the repository `r` names. */
function protectedTags(r: SweptRepository): string[] {
  const tags = new Set(publicationsInto(r.repository, r.repositoryName).flatMap((p) => p.tags));
  return [...tags].filter((t) => !Token.isUnresolved(t)).sort();
}

/** The stack's sweeper: made on first use. */
export class StackSweeper extends Construct {
  /** The sweeper of `scope`'s stack. */
  public static of(scope: IConstruct): StackSweeper {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild(SWEEPER_ID) as StackSweeper | undefined) ?? new StackSweeper(stack, SWEEPER_ID);
  }

  private readonly repositories: SweptRepository[] = [];
  private built = false;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const sweeper = this;
    Aspects.of(this).add(new class implements IAspect {
      public visit(node: IConstruct): void {
        if (node === sweeper) sweeper.build();
      }
    }());
  }

  /** Adds a repository to the sweep. */
  public add(repository: SweptRepository): void {
    if (this.built) throw new Error(`${repository.repository.node.path}: lifecycle rules must be added before the app is synthesized`);
    this.repositories.push(repository);
  }

  /** The configuration every run reads, with the protected tags as the app stands now. */
  public config(): SweeperConfig {
    return {
      version: 1,
      repositories: this.repositories.map((r) => ({
        repositoryName: r.repositoryName,
        rules: r.rules(),
        mode: r.mode,
        schedule: r.schedule.expressionString,
        protectedTags: protectedTags(r),
      })),
    };
  }

  /**
   * DescribeImages, DescribeRepositories and BatchDeleteImage on each repository with rules, by name (no wildcard: the function can touch no
   * other repository). Returns the managed policies made, which the deploy-time sweep must wait for.
   */
  private grantRepositories(role: iam.IRole): iam.ManagedPolicy[] {
    const arnCost = (r: SweptRepository) => ARN_OVERHEAD + r.repositoryName.length;
    const statement = (repositories: SweptRepository[]) => allow(SWEEPER_ACTIONS, repositories.map((r) => repositoryArnFor(this, r.repositoryName)));
    const total = this.repositories.reduce((n, r) => n + arnCost(r), 0);
    if (total <= INLINE_BUDGET) {
      role.addToPrincipalPolicy(statement(this.repositories));
      return [];
    }
    const chunks: SweptRepository[][] = [[]];
    let used = 0;
    for (const r of this.repositories) {
      if (used + arnCost(r) > MANAGED_BUDGET) {
        chunks.push([]);
        used = 0;
      }
      chunks[chunks.length - 1].push(r);
      used += arnCost(r);
    }
    return chunks.map((chunk, i) => new iam.ManagedPolicy(this, `RepositoryGrants${i + 1}`, {
      description: `cdk-ecr-public lifecycle sweeper: the repositories it may sweep (${i + 1} of ${chunks.length})`,
      statements: [statement(chunk)],
      roles: [role],
    }));
  }

  /** The one runtime the repositories pinned, if any: they share the stack's one sweeper. */
  private runtime(): lambda.Runtime | undefined {
    const pinned = this.repositories.filter((r) => r.runtime !== undefined);
    const other = pinned.find((r) => r.runtime!.name !== pinned[0].runtime!.name);
    if (other) {
      invalid(other.repository, 'handlerRuntime', `must be the same on every repository with lifecycle rules in a stack (they share one sweeper; ${pinned[0].repository.node.path} pins ${pinned[0].runtime!.name})`, other.runtime!.name);
    }
    return pinned[0]?.runtime;
  }

  private build(): void {
    if (this.built || this.repositories.length === 0) return;
    this.built = true;
    const config = this.config();
    const asset = stageContentAsset(this, Buffer.from(JSON.stringify(config)), '.json');
    const location: LifecycleSweepProperties = { ConfigBucket: asset.bucketName, ConfigKey: asset.objectKey };

    const functionOptions = { ...FUNCTION_OPTIONS, runtime: this.runtime() };
    const fn = handlerFunction(this, HANDLER_KINDS.lifecycleSweeper, functionOptions);
    addToHandlerRole(fn, allowAssetObjects(asset.objectsArn));
    const grants = this.grantRepositories(fn.role!);

    const sweep: CustomResource = handlerResource(this, {
      kind: HANDLER_KINDS.lifecycleSweeper,
      resourceType: RESOURCE_TYPES.lifecycleSweep,
      properties: location,
      roleStatements: [],
      functionOptions,
    });
    // At deploy: after the repositories exist and the app's images are published, so that what a publish leaves
    // behind (an image whose tag moved) is expired at once, and what it published is protected.
    for (const grant of grants) sweep.node.addDependency(grant);
    // Images of other stacks are protected by their tags alone: a dependency on them could make a cycle of stacks.
    const stack = Stack.of(this);
    for (const r of this.repositories) {
      sweep.node.addDependency(r.resource);
      for (const p of publicationsInto(r.repository, r.repositoryName)) {
        if (Stack.of(p.image) === stack) sweep.node.addDependency(p.image);
      }
    }

    const schedules = new Map<string, events.Schedule>();
    for (const r of this.repositories) schedules.set(r.schedule.expressionString, r.schedule);
    for (const [expression, schedule] of schedules) {
      const event: Omit<ScheduledSweepEvent, 'time'> & { time: string } = {
        kind: SCHEDULED_SWEEP,
        schedule: expression,
        time: events.EventField.time,
        ...location,
      };
      new events.Rule(this, `Schedule-${createHash('sha256').update(expression).digest('hex').slice(0, 8)}`, {
        schedule,
        description: `cdk-ecr-public lifecycle sweep of the repositories on ${expression}`,
        targets: [new targets.LambdaFunction(fn, { event: events.RuleTargetInput.fromObject(event) })],
      });
    }
  }
}
