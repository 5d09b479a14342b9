/** Lifecycle rules at synth: aws-ecr's checks and ECR's, the sweeper's wiring, its IAM, and 480 repositories in a stack. */
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnParameter, Duration, Lazy, Stack, aws_events as events } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ImageSource, LifecycleMode, LifecycleRule, PublicImage, PublicRepository, TagStatus } from '../../src';
import { SweeperConfig } from '../../src/shared/lifecycle-contract';
import { newStack } from '../constructs/support';

const SWEEP = 'Custom::EcrPublicLifecycleSweep';

function synth(stack: Stack): { template: any; dir: string } {
  const assembly = App.of(stack)!.synth();
  return { template: assembly.getStackByName(stack.stackName).template, dir: assembly.directory };
}

/** The sweeper configuration the stack's sweep resource points at, read from the cloud assembly. */
function sweeperConfig(stack: Stack): SweeperConfig {
  const { template, dir } = synth(stack);
  const sweep = Object.values<any>(template.Resources).find((r) => r.Type === SWEEP);
  const key: string = sweep.Properties.ConfigKey;
  return JSON.parse(fs.readFileSync(path.join(dir, `asset.${key}`), 'utf8'));
}

function repoWith(rules: LifecycleRule[], stack = newStack()): PublicRepository {
  return new PublicRepository(stack, 'Web', { repositoryName: 'acme/web', lifecycleRules: rules });
}

describe('rules are checked as aws-ecr checks them, and as ECR would', () => {
  const cases: Array<[string, LifecycleRule[], RegExp]> = [
    ['TAGGED without a list', [{ tagStatus: TagStatus.TAGGED, maxImageCount: 1 }], /lifecycleRules\[0\] with TagStatus.TAGGED needs a tagPrefixList or a tagPatternList/],
    ['a list without TAGGED', [{ tagStatus: TagStatus.UNTAGGED, tagPrefixList: ['v'], maxImageCount: 1 }], /lifecycleRules\[0\] may have a tagPrefixList or a tagPatternList only with TagStatus.TAGGED/],
    ['both lists', [{ tagPrefixList: ['v'], tagPatternList: ['v*'], maxImageCount: 1 }], /must not have both a tagPrefixList and a tagPatternList/],
    ['five wildcards', [{ tagPatternList: ['a*b*c*d*e*'], maxImageCount: 1 }], /lifecycleRules\[0\].tagPatternList\[0\] must have at most 4 wildcard characters \(\*\) \(got 5 in "a\*b\*c\*d\*e\*"\)/],
    ['neither count nor age', [{ tagStatus: TagStatus.ANY }], /must have exactly one of 'maxImageAge' and 'maxImageCount'/],
    ['both count and age', [{ maxImageCount: 1, maxImageAge: Duration.days(1) }], /must have exactly one of 'maxImageAge' and 'maxImageCount'/],
    ['two ANY rules', [{ maxImageCount: 5 }, { maxImageAge: Duration.days(9) }], /lifecycleRules\[1\] is a second TagStatus.ANY rule/],
    ['two UNTAGGED rules', [{ tagStatus: TagStatus.UNTAGGED, maxImageCount: 5 }, { tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(9) }], /lifecycleRules\[1\] is a second TagStatus.UNTAGGED rule/],
    ['a count of zero', [{ maxImageCount: 0 }], /lifecycleRules\[0\].maxImageCount must be a whole number of at least 1/],
    ['a fractional count', [{ maxImageCount: 1.5 }], /maxImageCount must be a whole number/],
    ['an age in hours', [{ maxImageAge: Duration.hours(36) }], /lifecycleRules\[0\].maxImageAge must be a whole number of days/],
    ['a priority of zero', [{ rulePriority: 0, tagPrefixList: ['v'], maxImageCount: 1 }], /lifecycleRules\[0\].rulePriority must be a whole number of at least 1/],
    ['a repeated priority', [{ rulePriority: 3, tagPrefixList: ['v'], maxImageCount: 1 }, { rulePriority: 3, tagPrefixList: ['w'], maxImageCount: 1 }], /lifecycleRules\[1\].rulePriority must be unique/],
    ['an empty prefix', [{ tagPrefixList: [''], maxImageCount: 1 }], /tagPrefixList\[0\] must be 1 to 300 characters/],
  ];
  test.each(cases)('%s is refused, naming the construct and the property', (_name, rules, message) => {
    expect(() => repoWith(rules)).toThrow(message);
    expect(() => repoWith(rules)).toThrow(/^TestStack\/Web: /);
  });

  test('an ANY rule that is not last is refused at synth', () => {
    const stack = newStack();
    repoWith([{ rulePriority: 10, maxImageCount: 5 }, { rulePriority: 20, tagPrefixList: ['v'], maxImageCount: 1 }], stack);
    expect(() => synth(stack)).toThrow(/TestStack\/Web: lifecycleRules must give the TagStatus.ANY rule the highest priority number; it has 10, below 20/);
  });

  test('a prioritized ANY rule with unprioritized rules is refused at synth', () => {
    const stack = newStack();
    repoWith([{ rulePriority: 10, maxImageCount: 5 }, { tagPrefixList: ['v'], maxImageCount: 1 }], stack);
    expect(() => synth(stack)).toThrow(/cannot combine a TagStatus.ANY rule that has a rulePriority with rules that have none/);
  });

  test('a repository name known only at deploy cannot have rules', () => {
    const stack = newStack();
    expect(() => new PublicRepository(stack, 'Web', { repositoryName: Lazy.string({ produce: () => 'acme/later' }), lifecycleRules: [{ maxImageCount: 1 }] }))
      .toThrow(/TestStack\/Web: repositoryName must be known at synth when the repository has lifecycle rules/);
  });
});

describe('the sweeper', () => {
  test('rules become ECR rule specs, prioritized as aws-ecr does: explicit ones, then the others in order, ANY last', () => {
    const stack = newStack();
    const repo = new PublicRepository(stack, 'Web', {
      repositoryName: 'acme/web',
      lifecycleRules: [
        { description: 'untagged after a day', tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(1) },
        { tagPatternList: ['pr-*'], maxImageCount: 20 },
        { tagStatus: TagStatus.ANY, maxImageCount: 500 },
        { rulePriority: 7, tagPrefixList: ['release-'], maxImageCount: 50 },
      ],
      lifecycleSchedule: events.Schedule.rate(Duration.hours(6)),
    });
    repo.addLifecycleRule({ tagPrefixList: ['nightly-'], maxImageAge: Duration.days(14) });
    const config = sweeperConfig(stack);
    expect(config.repositories).toEqual([{
      repositoryName: 'acme/web',
      mode: 'expire',
      schedule: 'rate(6 hours)',
      protectedTags: [],
      rules: [
        { rulePriority: 7, tagStatus: 'tagged', tagPrefixList: ['release-'], countType: 'imageCountMoreThan', countNumber: 50 },
        { rulePriority: 8, description: 'untagged after a day', tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1 },
        { rulePriority: 9, tagStatus: 'tagged', tagPatternList: ['pr-*'], countType: 'imageCountMoreThan', countNumber: 20 },
        { rulePriority: 10, tagStatus: 'tagged', tagPrefixList: ['nightly-'], countType: 'sinceImagePushed', countNumber: 14 },
        { rulePriority: 11, tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 500 },
      ],
    }]);
  });

  test('a stack without rules has no sweeper; one with rules has one function, one schedule rule per schedule and one sweep', () => {
    const bare = newStack();
    new PublicRepository(bare, 'Web', { repositoryName: 'acme/web' });
    const bareTemplate = Template.fromStack(bare);
    bareTemplate.resourceCountIs(SWEEP, 0);
    bareTemplate.resourceCountIs('AWS::Events::Rule', 0);

    const stack = newStack();
    new PublicRepository(stack, 'A', { repositoryName: 'acme/a', lifecycleRules: [{ maxImageCount: 3 }] });
    new PublicRepository(stack, 'B', { repositoryName: 'acme/b', lifecycleRules: [{ maxImageCount: 3 }] });
    new PublicRepository(stack, 'C', {
      repositoryName: 'acme/c', lifecycleRules: [{ maxImageCount: 3 }], lifecycleSchedule: events.Schedule.rate(Duration.hours(1)), lifecycleMode: LifecycleMode.DRY_RUN,
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs(SWEEP, 1);
    const rules = Object.values<any>(t.findResources('AWS::Events::Rule')).map((r) => r.Properties.ScheduleExpression).sort();
    expect(rules).toEqual(['rate(1 day)', 'rate(1 hour)']);
    // The scheduled event carries its time (the sweeper's "now") and the configuration's location.
    const target = Object.values<any>(t.findResources('AWS::Events::Rule'))[0].Properties.Targets[0];
    expect(target.InputTransformer.InputPathsMap).toEqual({ time: '$.time' });
    expect(JSON.stringify(target.InputTransformer.InputTemplate)).toMatch(/\\"kind\\":\\"cdk-ecr-public:lifecycle-sweep\\"/);
    expect(JSON.stringify(target.InputTransformer.InputTemplate)).toMatch(/\\"time\\":<time>/);
    const sweep = Object.entries<any>(t.findResources(SWEEP))[0][1];
    // The sweep at deploy waits for the repositories.
    expect(sweep.DependsOn.length).toBeGreaterThanOrEqual(3);
    expect(sweepConfigModes(stack)).toEqual({ 'acme/a': 'expire', 'acme/b': 'expire', 'acme/c': 'dry-run' });
  });

  test('IAM: DescribeImages, DescribeRepositories and BatchDeleteImage on the repositories with rules only', () => {
    const stack = newStack();
    new PublicRepository(stack, 'A', { repositoryName: 'acme/a', lifecycleRules: [{ maxImageCount: 3 }] });
    new PublicRepository(stack, 'Plain', { repositoryName: 'acme/plain' });
    const later = new PublicRepository(stack, 'Later', { repositoryName: 'acme/later' });
    later.addLifecycleRule({ tagStatus: TagStatus.UNTAGGED, maxImageCount: 1 });
    const statements = Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => JSON.stringify(s.Action).includes('ecr-public:BatchDeleteImage') && JSON.stringify(s.Action).includes('ecr-public:DescribeImages') && !JSON.stringify(s.Action).includes('PutImage'));
    expect(statements).toHaveLength(1);
    expect([...statements[0].Action].sort()).toEqual(['ecr-public:BatchDeleteImage', 'ecr-public:DescribeImages', 'ecr-public:DescribeRepositories']);
    const resources = JSON.stringify(statements[0].Resource);
    expect(resources).toMatch(/repository\/acme\/a"/);
    expect(resources).toMatch(/repository\/acme\/later"/);
    expect(resources).not.toMatch(/acme\/plain/);
    expect(resources).not.toMatch(/\*/);
  });

  test('the tags a PublicImage of the app publishes are protected, and the sweep at deploy runs after the publish', () => {
    const stack = newStack();
    const repo = repoWith([{ maxImageCount: 1 }], stack);
    const image = new PublicImage(stack, 'Image', { repository: repo, source: ImageSource.fromRegistry('docker.io/library/alpine:3.20'), tags: ['latest', '1.0'] });
    const config = sweeperConfig(stack);
    expect(config.repositories[0].protectedTags).toEqual(['1.0', 'latest']);
    const t = Template.fromStack(stack);
    const sweep = Object.values<any>(t.findResources(SWEEP))[0];
    const imageId = stack.getLogicalId(image.node.findChild('Resource').node.defaultChild as any);
    expect(sweep.DependsOn).toContain(imageId);
  });

  test('tags published into the repository by name are protected across the app: imports, other stacks, no stack cycle', () => {
    const app = new App();
    const stack = new Stack(app, 'Owner');
    const repo = repoWith([{ maxImageCount: 1 }], stack);
    const alpine = ImageSource.fromRegistry('docker.io/library/alpine:3.20');
    // The same repository imported in the same stack, in another stack, and the construct itself used from a third.
    new PublicImage(stack, 'Here', { repository: PublicRepository.fromRepositoryName(stack, 'Imported', 'acme/web'), source: alpine, tags: ['here'] });
    const other = new Stack(app, 'Other');
    new PublicImage(other, 'There', { repository: PublicRepository.fromRepositoryName(other, 'Imported', 'acme/web'), source: alpine, tags: ['there'] });
    const third = new Stack(app, 'Third');
    new PublicImage(third, 'Direct', { repository: repo, source: alpine, tags: ['direct'] });
    // Another repository's tags, and a repository whose name is only known at deploy, protect nothing here.
    new PublicImage(other, 'Elsewhere', { repository: PublicRepository.fromRepositoryName(other, 'Else', 'acme/else'), source: alpine, tags: ['else'] });
    const param = new CfnParameter(other, 'Name');
    new PublicImage(other, 'Unknown', { repository: PublicRepository.fromRepositoryName(other, 'ByParam', param.valueAsString), source: alpine, tags: ['unknown'] });
    expect(sweeperConfig(stack).repositories[0].protectedTags).toEqual(['direct', 'here', 'there']);
    // The sweep waits for the images of its own stack only: the other stacks depend on this one, not the other way.
    expect(app.synth().getStackByName('Owner').dependencies.map((d) => d.id).filter((id) => !id.endsWith('.assets'))).toEqual([]);
  });

  test('480 repositories with rules stay within CloudFormation\'s 500 resources and IAM\'s policy sizes', () => {
    const stack = newStack();
    for (let i = 0; i < 480; i++) {
      new PublicRepository(stack, `Repo${i}`, { repositoryName: `scale/repository-${i}`, lifecycleRules: [{ tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(1) }, { maxImageCount: 100 }] });
    }
    const { template } = synth(stack);
    const types = Object.values<any>(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'Custom::EcrPublicRepository')).toHaveLength(480);
    expect(types.filter((t) => t === SWEEP)).toHaveLength(1);
    expect(types.length).toBeLessThanOrEqual(500);
    // IAM attaches at most 10 managed policies to a role by default.
    const managed = types.filter((t) => t === 'AWS::IAM::ManagedPolicy').length;
    expect(managed).toBeGreaterThan(1);
    expect(managed).toBeLessThanOrEqual(10);
    // Every policy document stays under IAM's limits (inline role policies 10,240 characters, managed 6,144).
    for (const r of Object.values<any>(template.Resources)) {
      if (r.Type === 'AWS::IAM::Policy') expect(JSON.stringify(resolveArns(r.Properties.PolicyDocument)).length).toBeLessThan(10_240);
      if (r.Type === 'AWS::IAM::ManagedPolicy') expect(JSON.stringify(resolveArns(r.Properties.PolicyDocument)).length).toBeLessThan(6_144);
    }
    const named = JSON.stringify(template).match(/repository\/scale\/repository-\d+/g) ?? [];
    expect(new Set(named).size).toBe(480);
  });
});

function sweepConfigModes(stack: Stack): Record<string, string> {
  return Object.fromEntries(sweeperConfig(stack).repositories.map((r) => [r.repositoryName, r.mode]));
}

/** A policy document with its ARNs as IAM sees them (Fn::Join of partition and account resolved). */
function resolveArns(doc: unknown): unknown {
  return JSON.parse(JSON.stringify(doc, (_k, v) => {
    if (v && typeof v === 'object' && Array.isArray(v['Fn::Join'])) {
      const pseudo: Record<string, string> = { 'AWS::Partition': 'aws-iso-b', 'AWS::AccountId': '123456789012' };
      return (v['Fn::Join'][1] as any[]).map((p) => (typeof p === 'string' ? p : pseudo[p.Ref] ?? JSON.stringify(p))).join(v['Fn::Join'][0]);
    }
    return v;
  }));
}
