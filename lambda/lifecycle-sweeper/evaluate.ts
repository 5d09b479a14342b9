/**
 * ECR's evaluation of lifecycle rules (handler side), pure: images and rules in, the images to expire out.
 *
 * As ECR documents it: rules are applied in priority order, low to high; a rule selects the images whose tags match
 * it (`tagged` with every prefix or pattern of its list matched by one of the image's tags, `untagged`, or `any`);
 * a count rule expires the selected images beyond the newest `countNumber`, an age rule the selected images pushed more
 * than `countNumber` days ago; expiry is by push time, oldest first. A rule still counts the images that rules of a
 * higher priority selected, but never expires them: an image selected by a rule is not expired by a later one.
 */
import { RuleSpec } from '../../src/shared/lifecycle-contract';

const DAY_MS = 24 * 60 * 60 * 1000;

/** An image as DescribeImages lists it. */
export interface ImageFacts {
  readonly digest: string;
  readonly tags: readonly string[];
  /** Push time, epoch milliseconds. */
  readonly pushedAt: number;
}

/** What the rules decide for a repository. */
export interface Evaluation {
  /** The images to expire, oldest first, each with the priority of the rule that expires it. */
  readonly expire: Array<{ readonly digest: string; readonly rulePriority: number }>;
  /** Images a rule selected for expiry that carry a protected tag: kept. */
  readonly keptProtected: string[];
}

/** Applies `rules` to `images` at time `now` (epoch ms). Images with a tag in `protectedTags` are never expired. */
export function evaluateRules(
  images: readonly ImageFacts[], rules: readonly RuleSpec[], now: number, protectedTags: readonly string[] = [],
): Evaluation {
  // Newest first; equal push times in digest order, so that the outcome does not depend on the listing's order.
  const newestFirst = [...images].sort((a, b) => b.pushedAt - a.pushedAt || a.digest.localeCompare(b.digest));
  const selectedBefore = new Set<string>();
  const expiring = new Map<string, number>();
  for (const rule of [...rules].sort((a, b) => a.rulePriority - b.rulePriority)) {
    const selected = newestFirst.filter((image) => selects(rule, image));
    const candidates = rule.countType === 'imageCountMoreThan'
      ? selected.slice(rule.countNumber)
      : selected.filter((image) => image.pushedAt < now - rule.countNumber * DAY_MS);
    for (const image of candidates) {
      if (!selectedBefore.has(image.digest)) expiring.set(image.digest, rule.rulePriority);
    }
    for (const image of selected) selectedBefore.add(image.digest);
  }
  const protectedSet = new Set(protectedTags);
  const keptProtected: string[] = [];
  const expire: Array<{ digest: string; rulePriority: number }> = [];
  for (const image of [...newestFirst].reverse()) {
    const rulePriority = expiring.get(image.digest);
    if (rulePriority === undefined) continue;
    if (image.tags.some((t) => protectedSet.has(t))) keptProtected.push(image.digest);
    else expire.push({ digest: image.digest, rulePriority });
  }
  return { expire, keptProtected };
}

/** Whether `rule` selects `image` by its tags. */
export function selects(rule: RuleSpec, image: ImageFacts): boolean {
  switch (rule.tagStatus) {
    case 'any': return true;
    case 'untagged': return image.tags.length === 0;
    case 'tagged':
      if (image.tags.length === 0) return false;
      if (rule.tagPrefixList) return rule.tagPrefixList.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
      if (rule.tagPatternList) return rule.tagPatternList.every((pattern) => image.tags.some((tag) => matchesPattern(pattern, tag)));
      return false;
  }
}

/** Whether `tag` matches `pattern` whole, `*` standing for any characters (none included). */
export function matchesPattern(pattern: string, tag: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === tag;
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (tag.length < first.length + last.length || !tag.startsWith(first) || !tag.endsWith(last)) return false;
  // Greedy from the left is exact for `*` alone: the earliest match of each middle part leaves the most room.
  let at = first.length;
  const end = tag.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = tag.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}
