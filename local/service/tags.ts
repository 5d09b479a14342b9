/** TagResource, UntagResource and ListTagsForResource, and the tag rules CreateRepository shares. */
import { Context, findRepository, Operation } from './context';
import { ecrError, invalidParameter, repositoryNotFound } from './errors';
import { RepositoryRecord } from '../store/model';

/** Tags per repository (the TooManyTagsException limit). */
const MAX_TAGS = 50;

/**
 * AWS's tag character rules (the tagging guide): letters, digits and spaces representable in UTF-8, and
 * `_ . : / = + - @`. ECR Public's model states no pattern: UNVERIFIED, the strict reading (local/README.md).
 */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** Checks tag keys and values: 1-128 and 0-256 characters of AWS's tag characters, no `aws:` prefix. */
export function checkTags(tags: Array<{ Key?: string; Value?: string }>): Array<{ Key: string; Value: string }> {
  return tags.map((tag, i) => {
    const key = tag.Key;
    const value = tag.Value ?? '';
    if (key === undefined || [...key].length < 1 || [...key].length > 128) {
      throw ecrError('InvalidTagParameterException', 'key-length', `tags[${i}]`);
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw ecrError('InvalidTagParameterException', 'reserved-prefix', key);
    }
    if ([...value].length > 256) {
      throw ecrError('InvalidTagParameterException', 'value-length', key);
    }
    if (!TAG_CHARACTERS.test(key) || !TAG_CHARACTERS.test(value)) {
      throw ecrError('InvalidTagParameterException', 'characters', `tags[${i}]`);
    }
    return { Key: key, Value: value };
  });
}

/** Merges `tags` into the repository's tags (a key given again takes the new value), refusing more than 50. */
export function applyTags(repo: RepositoryRecord, tags: Array<{ Key: string; Value: string }>): void {
  const merged = new Map(repo.resourceTags.map((t) => [t.Key, t.Value]));
  for (const tag of tags) merged.set(tag.Key, tag.Value);
  if (merged.size > MAX_TAGS) {
    throw ecrError('TooManyTagsException', MAX_TAGS, merged.size);
  }
  repo.resourceTags = [...merged].map(([Key, Value]) => ({ Key, Value }));
}

function repositoryFromArn(ctx: Context, arn: string): RepositoryRecord {
  const match = /^arn:aws:ecr-public::(\d{12}):repository\/(.+)$/.exec(arn);
  if (!match) {
    throw invalidParameter('resourceArn', "must be a repository ARN of the form 'arn:aws:ecr-public::<account>:repository/<name>'");
  }
  const [, account, name] = match;
  if (account !== ctx.accountId) throw repositoryNotFound(name, account);
  return findRepository(ctx, { repositoryName: name });
}

export const tagResource: Operation = (ctx, input) => {
  const repo = repositoryFromArn(ctx, input.resourceArn);
  applyTags(repo, checkTags(input.tags));
  ctx.store.commit();
  return {};
};

export const untagResource: Operation = (ctx, input) => {
  const repo = repositoryFromArn(ctx, input.resourceArn);
  const keys: string[] = input.tagKeys;
  keys.forEach((key, i) => {
    if ([...key].length < 1 || [...key].length > 128) {
      throw ecrError('InvalidTagParameterException', 'key-length', `tagKeys[${i}]`);
    }
    if (!TAG_CHARACTERS.test(key)) {
      throw ecrError('InvalidTagParameterException', 'characters', `tagKeys[${i}]`);
    }
  });
  repo.resourceTags = repo.resourceTags.filter((t) => !keys.includes(t.Key));
  ctx.store.commit();
  return {};
};

export const listTagsForResource: Operation = (ctx, input) => {
  const repo = repositoryFromArn(ctx, input.resourceArn);
  return { tags: repo.resourceTags.map((t) => ({ ...t })) };
};
