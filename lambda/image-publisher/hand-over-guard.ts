/**
 * Which run of the publisher owns a request, so that a re-sent event never starts a second publish beside a continuing
 * one. Lambda sends an asynchronous event again when its run fails or times out (twice, one and three minutes later);
 * a run that handed over and then failed before returning would be started again beside its successor. The owner is
 * recorded on the repository, as a resource tag of its own per resource (`cdk-ecr-public:hand-over:<hash>` =
 * `<RequestId> <generation>`):
 *
 * - a run records itself before it invokes its successor (the first run of a request only then), and every later run
 *   records itself when it starts;
 * - an event of an older generation of the same request than the tag names is stale: its run ends without a word (the
 *   successor started);
 * - an event of generation 1 or more without its request's tag comes after the final answer (the tag is removed once
 *   the answer is delivered): stale too;
 * - otherwise the run publishes: the first run of a request, or the retry of a run whose successor never started (it
 *   was cut off before its invocation was accepted), which then goes on itself. Publishing again what is there is
 *   idempotent, and CloudFormation keeps the first answer.
 *
 * A retry that comes before a successor that was invoked has started (Lambda's queue holding the successor for longer
 * than the retry's wait of a minute) runs beside it: both publish the same blobs, and the first answer counts.
 */
import { createHash } from 'crypto';
import {
  DescribeRepositoriesCommand, ECRPUBLICClient, ListTagsForResourceCommand, TagResourceCommand, UntagResourceCommand,
} from '@aws-sdk/client-ecr-public';
import { withContext } from './errors';
import { ecrPublicClient, isErrorNamed } from '../shared/ecr-public-client';
import { log } from '../shared/log';

const TAG_PREFIX = 'cdk-ecr-public:hand-over:';

/** The request a guard is about. */
export interface GuardedRequest {
  readonly StackId: string;
  readonly LogicalResourceId: string;
  readonly RequestId: string;
}

export class HandOverGuard {
  /** The guard of `request` on `repositoryName`, with the owner it records now. */
  public static async open(ecr: ECRPUBLICClient, repositoryName: string, request: GuardedRequest): Promise<HandOverGuard> {
    const key = TAG_PREFIX + createHash('sha256').update(`${request.StackId}\n${request.LogicalResourceId}`).digest('hex').slice(0, 32);
    let arn: string | undefined;
    try {
      const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }));
      arn = out.repositories?.[0]?.repositoryArn;
    } catch (err) {
      // The publish reports a missing repository, with advice.
      if (!isErrorNamed(err, 'RepositoryNotFoundException')) throw withContext(err, 'DescribeRepositories (hand-over guard)');
    }
    const value = arn === undefined ? undefined
      : (await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))
        .catch((err: unknown) => { throw withContext(err, 'ListTagsForResource (hand-over guard)'); }))
        .tags?.find((t) => t.Key === key)?.Value;
    const [requestId, generation] = (value ?? '').split(' ');
    const owner = value !== undefined && requestId === request.RequestId && /^\d+$/.test(generation ?? '') ? Number(generation) : undefined;
    return new HandOverGuard(ecr, arn, key, request.RequestId, owner);
  }

  private constructor(
    private readonly ecr: ECRPUBLICClient,
    private readonly arn: string | undefined,
    private readonly key: string,
    private readonly requestId: string,
    /** The generation that owns the request, as the tag says; undefined without a tag for this request. */
    private owner: number | undefined,
  ) {}

  /** Whether the tag names this request (it is removed with the answer). */
  public get recorded(): boolean {
    return this.owner !== undefined;
  }

  /** Why the run of `generation` must not publish; undefined when it may. */
  public staleReason(generation: number): string | undefined {
    if (this.owner !== undefined && generation < this.owner) {
      return `run ${generation} of request ${this.requestId} was handed over to run ${this.owner}: this event is a re-sent one`;
    }
    if (this.owner === undefined && generation > 0) {
      return `request ${this.requestId} was answered already (no run owns it any more): this event is a re-sent one`;
    }
    return undefined;
  }

  /** Records `generation` as the owner (unless the tag says so already). */
  public async claim(generation: number): Promise<void> {
    if (this.owner === generation) return;
    if (this.arn === undefined) throw new Error('the repository has no ARN to tag');
    await this.ecr.send(new TagResourceCommand({ resourceArn: this.arn, tags: [{ Key: this.key, Value: `${this.requestId} ${generation}` }] }))
      .catch((err: unknown) => { throw withContext(err, 'TagResource (recording which run of the function owns the publish)'); });
    this.owner = generation;
  }

  /**
   * Removes the tag, if it is still this request's. Best effort, with a client of its own (the request's is closed by
   * then): a tag left behind only makes late re-sent events of this request end without publishing.
   */
  public async release(): Promise<void> {
    if (this.arn === undefined) return;
    const ecr = ecrPublicClient();
    try {
      const tags = (await ecr.send(new ListTagsForResourceCommand({ resourceArn: this.arn }))).tags ?? [];
      const current = tags.find((t) => t.Key === this.key)?.Value;
      if (current?.split(' ')[0] !== this.requestId) return;
      await ecr.send(new UntagResourceCommand({ resourceArn: this.arn, tagKeys: [this.key] }));
    } catch (err) {
      log({ warning: 'the hand-over tag was not removed', key: this.key, error: `${(err as Error).name}: ${(err as Error).message}` });
    } finally {
      ecr.destroy();
    }
  }
}
