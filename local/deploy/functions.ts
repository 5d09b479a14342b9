/**
 * Which code serves a custom resource: its ServiceToken is `Fn::GetAtt [<function>, Arn]` of an AWS::Lambda::Function in
 * the same template, whose `Code` is the S3 location of a directory asset of the assembly (`asset.<hash>`, holding the
 * bundled handler). For Deletes after the template changed, the copy of that code kept with the deployment state.
 */
import * as fs from 'fs';
import type { AssemblyStack, TemplateResource } from './assembly';
import { fillPlaceholders } from './assembly';
import { codeAssetProblem } from './code-trust';
import { executionRole, getAttArn } from './execution-roles';
import type { FunctionCode } from './handler';
import { plausibleName, Resolver, UnresolvableError } from './intrinsics';
import type { HandlerRef, StateStore } from './state';

/** Lambda's default timeout when the function sets none. */
const DEFAULT_TIMEOUT_SECONDS = 3;

export interface ResolvedFunction {
  readonly ref: HandlerRef;
  readonly code: FunctionCode;
}

/** The function that serves `logicalId`, and its code in the assembly. Errors name the resource and what is wrong. */
export function functionForResource(
  stack: AssemblyStack, resolver: Resolver, accountId: string, region: string, logicalId: string, resource: TemplateResource,
): ResolvedFunction {
  const where = `resource '${logicalId}' (${resource.Type})`;
  const token = resource.Properties?.ServiceToken;
  if (token === undefined) throw new UnresolvableError(`${where} has no ServiceToken`);
  const functionId = getAttArn(token);
  const fn = functionId !== undefined ? stack.template.Resources?.[functionId] : undefined;
  if (functionId === undefined || !fn || fn.Type !== 'AWS::Lambda::Function') {
    throw new UnresolvableError(`${where}: its ServiceToken ${JSON.stringify(token)} is not Fn::GetAtt [<function>, Arn] of an `
      + 'AWS::Lambda::Function of the same template, which is the only kind of provider the local deployer runs');
  }
  return functionCode(stack, resolver, accountId, region, functionId, fn, where);
}

/** The code of the function `functionId` of the template, or undefined when the template no longer has that function. */
export function functionInTemplate(
  stack: AssemblyStack, resolver: Resolver, accountId: string, region: string, functionId: string,
): ResolvedFunction | undefined {
  const fn = stack.template.Resources?.[functionId];
  if (!fn || fn.Type !== 'AWS::Lambda::Function') return undefined;
  return functionCode(stack, resolver, accountId, region, functionId, fn, `function '${functionId}'`);
}

/** The stored copy of the code a resource was deployed with. */
export function storedFunction(state: StateStore, ref: HandlerRef, stackName: string): FunctionCode {
  const codeDir = state.codeDir(ref.codeHash);
  if (!fs.existsSync(codeDir)) {
    throw new Error(`The handler code ${ref.codeHash} of function '${ref.functionLogicalId}' is missing from ${codeDir}`);
  }
  return {
    codeDir,
    entry: ref.entry,
    timeoutSeconds: ref.timeoutSeconds,
    memorySize: ref.memorySize,
    functionName: plausibleName(stackName, ref.functionLogicalId, 'AWS::Lambda::Function'),
    role: ref.role,
  };
}

function functionCode(
  stack: AssemblyStack, resolver: Resolver, accountId: string, region: string, functionId: string, fn: TemplateResource, where: string,
): ResolvedFunction {
  const fnWhere = `${where}: its function '${functionId}'`;
  const props = (fn.Properties ?? {}) as Record<string, unknown>;
  const runtime = String(resolver.resolve(props.Runtime ?? '', fnWhere));
  if (!runtime.startsWith('nodejs')) {
    throw new UnresolvableError(`${fnWhere} runs on '${runtime || 'no runtime'}'; the local deployer runs Node.js handlers only`);
  }
  const code = (props.Code ?? {}) as Record<string, unknown>;
  if (code.S3Bucket === undefined || code.S3Key === undefined) {
    throw new UnresolvableError(`${fnWhere} has no Code.S3Bucket/S3Key (inline or image code cannot be run locally)`);
  }
  const bucket = String(resolver.resolve(code.S3Bucket, fnWhere));
  const key = String(resolver.resolve(code.S3Key, fnWhere));
  const asset = stack.assets.find((a) => a.destinations.some((d) =>
    fillPlaceholders(d.bucketName, accountId, region) === bucket && fillPlaceholders(d.objectKey, accountId, region) === key));
  if (!asset) throw new UnresolvableError(`${fnWhere}: its code s3://${bucket}/${key} is not an asset of the cloud assembly`);
  if (asset.problem) throw new UnresolvableError(`${fnWhere}: its code asset ${asset.id} cannot be used: ${asset.problem}`);
  if (asset.packaging !== 'zip' || !fs.statSync(asset.sourcePath).isDirectory()) {
    throw new UnresolvableError(`${fnWhere}: its code asset '${asset.manifestPath}' is not a directory; the local deployer runs unzipped code only`);
  }
  const entry = String(resolver.resolve(props.Handler ?? 'index.handler', fnWhere));
  const timeoutSeconds = Number(resolver.resolve(props.Timeout ?? DEFAULT_TIMEOUT_SECONDS, fnWhere));
  const memory = props.MemorySize === undefined ? undefined : Number(resolver.resolve(props.MemorySize, fnWhere));
  const explicitName = props.FunctionName === undefined ? undefined : String(resolver.resolve(props.FunctionName, fnWhere));
  const ref: HandlerRef = {
    functionLogicalId: functionId,
    codeHash: asset.id,
    entry,
    timeoutSeconds: Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : DEFAULT_TIMEOUT_SECONDS,
    ...(memory !== undefined && Number.isFinite(memory) ? { memorySize: memory } : {}),
    role: executionRole(stack, resolver, functionId),
  };
  return {
    ref,
    code: {
      codeDir: asset.sourcePath,
      entry,
      timeoutSeconds: ref.timeoutSeconds,
      memorySize: ref.memorySize,
      functionName: explicitName ?? plausibleName(stack.stackName, functionId, 'AWS::Lambda::Function'),
      role: ref.role,
      verify: () => {
        const untrusted = codeAssetProblem(stack.assemblyDir, asset);
        if (untrusted) throw new UnresolvableError(`${fnWhere}: its code asset '${asset.manifestPath}' is not run: ${untrusted}`);
      },
    },
  };
}
