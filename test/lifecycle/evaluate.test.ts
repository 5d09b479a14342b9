/**
 * ECR's documented evaluation of lifecycle rules: each example of the ECR user guide's "Examples of lifecycle policies"
 * (private ECR; the rules are the same), with its documented outcome.
 */
import { evaluateRules, ImageFacts, matchesPattern } from '../../lambda/lifecycle-sweeper/evaluate';
import { RuleSpec } from '../../src/shared/lifecycle-contract';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-11-28T12:00:00Z');

/** An image named `name` (its digest), with `tags`, pushed `daysAgo` days (fractions allowed) before NOW. */
function image(name: string, tags: string[], daysAgo: number): ImageFacts {
  return { digest: name, tags, pushedAt: NOW - daysAgo * DAY };
}

function expired(images: ImageFacts[], rules: RuleSpec[], protectedTags: string[] = []): string[] {
  return evaluateRules(images, rules, NOW, protectedTags).expire.map((e) => e.digest).sort();
}

describe('the ECR user guide examples', () => {
  test('filtering on image age: tagged prod* older than 14 days', () => {
    const images = [image('A', ['prod-1'], 20), image('B', ['prod-2'], 10), image('C', ['dev-1'], 30), image('D', [], 30)];
    expect(expired(images, [{ rulePriority: 1, tagStatus: 'tagged', tagPatternList: ['prod*'], countType: 'sinceImagePushed', countNumber: 14 }]))
      .toEqual(['A']);
  });

  test('filtering on image count: keep only one untagged image', () => {
    const images = [image('A', [], 3), image('B', [], 2), image('C', [], 1), image('D', ['latest'], 5)];
    expect(expired(images, [{ rulePriority: 1, tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }])).toEqual(['A', 'B']);
  });

  const multiple = [image('A', ['beta-1', 'prod-1'], 10), image('B', ['beta-2', 'prod-2'], 9), image('C', ['beta-3'], 8)];
  const keepOne = (priority: number, pattern: string): RuleSpec =>
    ({ rulePriority: priority, tagStatus: 'tagged', tagPatternList: [pattern], countType: 'imageCountMoreThan', countNumber: 1 });

  test('multiple rules, example A: prod first; B is selected by rule 1, so rule 2 cannot expire it: A is expired', () => {
    expect(expired(multiple, [keepOne(1, 'prod*'), keepOne(2, 'beta*')])).toEqual(['A']);
  });

  test('multiple rules, example A with tagPrefixList (the older version of the guide): A is expired', () => {
    const prefix = (priority: number, p: string): RuleSpec => ({ rulePriority: priority, tagStatus: 'tagged', tagPrefixList: [p], countType: 'imageCountMoreThan', countNumber: 1 });
    expect(expired(multiple, [prefix(1, 'prod'), prefix(2, 'beta')])).toEqual(['A']);
  });

  test('multiple rules, example B: beta first; rule 2 sees only images rule 1 selected: A and B are expired', () => {
    expect(expired(multiple, [keepOne(1, 'beta*'), keepOne(2, 'prod*')])).toEqual(['A', 'B']);
  });

  const sixImages = [
    image('A', ['alpha-1'], 12), image('B', ['beta-1'], 11), image('C', ['alpha-2', 'beta-2'], 10),
    image('D', ['alpha-3'], 4), image('E', ['beta-3'], 3), image('F', ['alpha-4', 'beta-4'], 2),
  ];

  test('multiple tags in one rule, example A: images must match every pattern; C is older than five days', () => {
    expect(expired(sixImages, [{ rulePriority: 1, tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], countType: 'sinceImagePushed', countNumber: 5 }]))
      .toEqual(['C']);
  });

  test('multiple tags in one rule, example B: tags are not exclusive; A and B are expired', () => {
    const images = [image('A', ['alpha-1', 'beta-1', 'gamma-1'], 10), image('B', ['alpha-2', 'beta-2'], 9), image('C', ['alpha-3', 'beta-3', 'gamma-2'], 8)];
    expect(expired(images, [{ rulePriority: 1, tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'], countType: 'imageCountMoreThan', countNumber: 1 }]))
      .toEqual(['A', 'B']);
  });

  test('all images, example A: any, keep one: A, B and C are expired', () => {
    const images = [image('A', ['alpha-1'], 4), image('B', ['beta-1'], 3), image('C', [], 2), image('D', ['alpha-2'], 1)];
    expect(expired(images, [{ rulePriority: 1, tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }])).toEqual(['A', 'B', 'C']);
  });

  test('all images, example B: every rule type; rule 3 counts every image but can only expire D: A, B and D are expired', () => {
    // D and E were both pushed "1 day ago"; E after D (rule 3 keeps the newest, E, as the guide's outcome shows).
    const images = [
      image('A', ['alpha-1', 'beta-1'], 4), image('B', [], 3), image('C', ['alpha-2'], 2),
      image('D', ['git hash'], 1.01), image('E', [], 1),
    ];
    const rules: RuleSpec[] = [
      { rulePriority: 1, tagStatus: 'tagged', tagPatternList: ['alpha*'], countType: 'imageCountMoreThan', countNumber: 1 },
      { rulePriority: 2, tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1 },
      { rulePriority: 3, tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
    ];
    const evaluation = evaluateRules(images, rules, NOW);
    expect(evaluation.expire).toEqual([
      { digest: 'A', rulePriority: 1 }, { digest: 'B', rulePriority: 2 }, { digest: 'D', rulePriority: 3 },
    ]);
  });
});

describe('evaluation details', () => {
  test('no images, and images no rule selects, expire nothing', () => {
    expect(expired([], [{ rulePriority: 1, tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }])).toEqual([]);
    expect(expired([image('A', ['v1'], 100)], [{ rulePriority: 1, tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1 }])).toEqual([]);
  });

  test('an image exactly at the age limit is kept; one a millisecond older expires', () => {
    const rule: RuleSpec = { rulePriority: 1, tagStatus: 'any', countType: 'sinceImagePushed', countNumber: 14 };
    expect(expired([{ digest: 'A', tags: [], pushedAt: NOW - 14 * DAY }], [rule])).toEqual([]);
    expect(expired([{ digest: 'A', tags: [], pushedAt: NOW - 14 * DAY - 1 }], [rule])).toEqual(['A']);
  });

  test('a prefix list needs every prefix matched by some tag of the image', () => {
    const images = [image('A', ['prod-1'], 3), image('B', ['prod-2', 'v2'], 2), image('C', ['prod-3', 'v3'], 1)];
    expect(expired(images, [{ rulePriority: 1, tagStatus: 'tagged', tagPrefixList: ['prod', 'v'], countType: 'imageCountMoreThan', countNumber: 1 }]))
      .toEqual(['B']);
  });

  test('images carrying a protected tag are kept and reported', () => {
    const images = [image('A', ['latest'], 3), image('B', [], 2), image('C', ['v3'], 1)];
    const evaluation = evaluateRules(images, [{ rulePriority: 1, tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }], NOW, ['latest']);
    expect(evaluation.expire.map((e) => e.digest)).toEqual(['B']);
    expect(evaluation.keptProtected).toEqual(['A']);
  });

  test('the outcome does not depend on the order images are listed in', () => {
    const images = Array.from({ length: 50 }, (_, i) => image(`img${String(i).padStart(2, '0')}`, i % 3 === 0 ? [] : [`v${i}`], i % 7));
    const rules: RuleSpec[] = [{ rulePriority: 1, tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 2 }, { rulePriority: 2, tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 }];
    expect(expired([...images].reverse(), rules)).toEqual(expired(images, rules));
    expect(expired(images, rules).length).toBeGreaterThan(0);
  });

  test.each([
    ['prod*', 'prod', true], ['prod*', 'prod-1', true], ['prod*', 'xprod', false], ['*', 'anything', true],
    ['*-rc*', 'v1-rc2', true], ['*-rc*', 'v1.0', false], ['a*b*c', 'abc', true], ['a*b*c', 'abxc', true], ['a*b*c', 'acb', false],
    ['exact', 'exact', true], ['exact', 'exactly', false], ['*ab*ab', 'abab', true], ['*ab*ab', 'xabx', false],
  ])('pattern %s against %s: %s', (pattern, tag, result) => {
    expect(matchesPattern(pattern, tag)).toBe(result);
  });
});
