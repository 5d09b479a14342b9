import * as path from 'path';
import { App, Duration, Stack, aws_lambda as lambda } from 'aws-cdk-lib';
import { FIXTURES, resourcesOfType } from './support';
import { ImageSource, PublicImage, PublicRegistry, PublicRepository, TagStatus } from '../../src';

const UNTAGGED = { tagStatus: TagStatus.UNTAGGED, maxImageAge: Duration.days(1) };

function newStack(): Stack {
  return new Stack(new App(), 'TestStack', { env: { region: 'eu-west-1' } });
}

/** Each handler function's runtime, by handler description. */
function runtimes(stack: Stack): Record<string, string> {
  const functions = Object.values(resourcesOfType(stack, 'AWS::Lambda::Function')) as any[];
  return Object.fromEntries(functions.map((f) => [f.Properties.Description, f.Properties.Runtime]));
}

function everyConstruct(stack: Stack, handlerRuntime?: lambda.Runtime): void {
  new PublicRegistry(stack, 'Registry', { displayName: 'Acme', handlerRuntime });
  const repo = new PublicRepository(stack, 'Repo', { repositoryName: 'acme/web', lifecycleRules: [UNTAGGED], handlerRuntime });
  new PublicImage(stack, 'Image', {
    repository: repo, source: ImageSource.fromTarball(path.join(FIXTURES, '..', '..', 'examples', 'assets', 'hello-image.tar')), handlerRuntime,
  });
}

// Last in this file: a runtime made here stays in aws-cdk-lib's list (Runtime.ALL) for the rest of the file.
describe('handler runtime', () => {
  test('by default, the newest Node.js runtime of the installed aws-cdk-lib (2.189 offers nodejs22.x)', () => {
    const stack = newStack();
    everyConstruct(stack);
    const found = runtimes(stack);
    expect(Object.keys(found)).toHaveLength(4);
    expect(new Set(Object.values(found))).toEqual(new Set(['nodejs22.x']));
  });

  test('a Node.js runtime below 22 (the bundles target) is refused, naming the construct and the property', () => {
    expect(() => new PublicRepository(newStack(), 'Repo', { handlerRuntime: lambda.Runtime.NODEJS_20_X }))
      .toThrow(/TestStack\/Repo: handlerRuntime must be a Node.js runtime from nodejs22.x on .*\(got nodejs20.x\)/);
    expect(() => new PublicRegistry(newStack(), 'Registry', { handlerRuntime: lambda.Runtime.PYTHON_3_13 }))
      .toThrow(/TestStack\/Registry: handlerRuntime must be a Node.js runtime .*\(got python3.13\)/);
  });

  test('repositories sharing the sweeper must pin the same runtime', () => {
    const stack = newStack();
    new PublicRepository(stack, 'A', { repositoryName: 'acme/a', lifecycleRules: [UNTAGGED], handlerRuntime: lambda.Runtime.NODEJS_22_X });
    new PublicRepository(stack, 'B', { repositoryName: 'acme/b', lifecycleRules: [UNTAGGED], handlerRuntime: new lambda.Runtime('nodejs23.x', lambda.RuntimeFamily.NODEJS) });
    expect(() => (stack.node.root as App).synth())
      .toThrow(/TestStack\/B: handlerRuntime must be the same on every repository with lifecycle rules .*TestStack\/A pins nodejs22.x\) \(got nodejs23.x\)/);
  });

  test('a newer Node.js runtime aws-cdk-lib knows is taken by default; a pinned one is kept', () => {
    // What a newer aws-cdk-lib offers (2.278: nodejs24.x and nodejs26.x); other families and older ones do not count.
    new lambda.Runtime('nodejs26.x', lambda.RuntimeFamily.NODEJS);
    new lambda.Runtime('python9.9', lambda.RuntimeFamily.PYTHON);
    const newest = newStack();
    everyConstruct(newest);
    expect(new Set(Object.values(runtimes(newest)))).toEqual(new Set(['nodejs26.x']));

    const pinned = newStack();
    everyConstruct(pinned, lambda.Runtime.NODEJS_22_X);
    expect(new Set(Object.values(runtimes(pinned)))).toEqual(new Set(['nodejs22.x']));
  });
});
