/** Which Lambda runtime the custom-resource handlers run on (synth side). */
import { aws_lambda as lambda } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { invalid } from './validation';

/**
 * The oldest Node.js major the handler bundles run on: esbuild's `--target` (HANDLER_TARGET in .projenrc.ts). The
 * bundles hold plain JavaScript with every dependency included and no native code, so every newer Node.js runs them.
 */
export const BUNDLE_NODE_MAJOR = 22;

/** `nodejs22.x` → 22; undefined for any other runtime (including the unversioned `nodejs`). */
function nodeMajor(runtime: lambda.Runtime): number | undefined {
  const m = /^nodejs(\d+)\.x$/.exec(runtime.name);
  return m && runtime.family === lambda.RuntimeFamily.NODEJS ? Number(m[1]) : undefined;
}

/**
 * The newest Node.js runtime the installed aws-cdk-lib knows that runs our bundles: aws-cdk-lib 2.189 offers
 * `nodejs22.x`, later releases `nodejs24.x` and on. cdk-nag's AwsSolutions-L1 compares with the same list.
 */
export function newestHandlerRuntime(): lambda.Runtime {
  let newest: lambda.Runtime | undefined;
  for (const runtime of lambda.Runtime.ALL) {
    const major = nodeMajor(runtime);
    if (major === undefined || major < BUNDLE_NODE_MAJOR) continue;
    if (newest === undefined || major > nodeMajor(newest)!) newest = runtime;
  }
  // aws-cdk-lib has had nodejs22.x since before the oldest release of our peer range.
  return newest ?? lambda.Runtime.NODEJS_22_X;
}

/** The runtime a construct pinned (checked), or undefined for the default. */
export function pinnedHandlerRuntime(scope: IConstruct, runtime: lambda.Runtime | undefined): lambda.Runtime | undefined {
  if (runtime === undefined) return undefined;
  const major = nodeMajor(runtime);
  if (major === undefined || major < BUNDLE_NODE_MAJOR) {
    invalid(scope, 'handlerRuntime', `must be a Node.js runtime from nodejs${BUNDLE_NODE_MAJOR}.x on (the handlers are bundled for Node.js ${BUNDLE_NODE_MAJOR})`, runtime.name);
  }
  return runtime;
}
