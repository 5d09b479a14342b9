/**
 * `ecr-public-local credentials`: credentials for a role or user of a deployed app, or for the root of another account,
 * from a running emulator that evaluates IAM (`serve --iam`), so that a user can try what their app granted (the CI
 * role's push, a partner account's pull) with the AWS CLI, skopeo or their own code, as that principal. The principal
 * is read from the cloud assembly as the deployer reads handler roles (`execution-roles.ts`), resolved against the
 * deployment state of its stack, and registered with the emulator before its credentials are issued.
 */
import * as path from 'path';
import { AssemblyStack, readCloudAssembly } from './assembly';
import { callEmulator, DEFAULT_ROOT_CREDENTIALS, EmulatorTarget } from './emulator-calls';
import { principalOf } from './execution-roles';
import { Resolver } from './intrinsics';
import { DEFAULT_DATA_DIR, DEFAULT_REGION } from './session';
import { StateStore } from './state';
import { storeHolder } from '../store/holder';

export interface CredentialsOptions {
  /** The emulator. @default - `AWS_ENDPOINT_URL_ECR_PUBLIC`, else the emulator serving `dataDir` */
  readonly endpoint?: string;
  /** The deployment state (and the data directory of the emulator serving it). @default '.emulator-data' */
  readonly dataDir?: string;
  /** The emulator account root's key pair. @default - `local` / `local` */
  readonly rootCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Credentials as STS gives them, and whose they are. */
export interface PrincipalCredentials {
  readonly arn: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Absent for another account root's long-term key pair. */
  readonly sessionToken?: string;
  /** Epoch seconds; absent for a long-term key pair. */
  readonly expiration?: number;
}

/** Credentials of the role or user at `constructPath` (`Stack/CiRole`) of the app in `assemblyDir`. */
export async function principalCredentials(
  assemblyDir: string, constructPath: string, options: CredentialsOptions = {},
): Promise<PrincipalCredentials> {
  const target = await iamEmulator(options);
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const { stack, logicalId } = findPrincipal(assemblyDir, constructPath);
  const state = new StateStore(dataDir).load(stack.stackName);
  if (state === undefined) throw new Error(`The stack ${stack.stackName} is not deployed with the deployment state in ${dataDir}: deploy it first`);
  const resolver = new Resolver({
    stackName: stack.stackName,
    stackId: state.stackId,
    accountId: state.accountId,
    region: stack.region ?? DEFAULT_REGION,
    template: stack.template,
    isOurs: (id) => state.resources.has(id),
    deployed: (id) => state.resources.get(id),
    importValue: (name) => new StateStore(dataDir).allExports().get(name),
  });
  const principal = principalOf(stack, resolver, logicalId, `'${constructPath}' (${logicalId} of ${stack.stackName})`);
  await callEmulator(target, 'control', 'DefinePrincipal', { arn: principal.arn, policies: principal.policies, tags: principal.tags ?? {} });
  return issue(target, principal.arn);
}

/** A key pair of the root of `account` (another account than the emulator's: a cross-account trial). */
export async function accountRootCredentials(account: string, options: CredentialsOptions = {}): Promise<PrincipalCredentials> {
  if (!/^\d{12}$/.test(account)) throw new Error(`--account must be 12 digits (got '${account}')`);
  const target = await iamEmulator(options);
  return issue(target, `arn:aws:iam::${account}:root`);
}

/** Shell lines exporting `credentials` (POSIX quoting), with a comment saying whose they are. */
export function exportLines(credentials: PrincipalCredentials): string[] {
  const quote = (v: string): string => `'${v.replace(/'/g, "'\\''")}'`;
  const expires = credentials.expiration === undefined ? 'a long-term key pair' : `expires ${new Date(credentials.expiration * 1000).toISOString()}`;
  return [
    `# ${credentials.arn} (${expires})`,
    `export AWS_ACCESS_KEY_ID=${quote(credentials.accessKeyId)}`,
    `export AWS_SECRET_ACCESS_KEY=${quote(credentials.secretAccessKey)}`,
    credentials.sessionToken === undefined ? 'unset AWS_SESSION_TOKEN' : `export AWS_SESSION_TOKEN=${quote(credentials.sessionToken)}`,
  ];
}

async function issue(target: EmulatorTarget, arn: string): Promise<PrincipalCredentials> {
  const issued = await callEmulator(target, 'control', 'IssueCredentials', { arn }) as Omit<PrincipalCredentials, 'arn'>;
  return { arn, ...issued };
}

/** The running emulator to ask, checked to evaluate IAM (credentials of any other kind would prove nothing). */
async function iamEmulator(options: CredentialsOptions): Promise<EmulatorTarget> {
  const dataDir = path.resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const configured = options.endpoint ?? (process.env.AWS_ENDPOINT_URL_ECR_PUBLIC?.trim() || undefined);
  const endpoint = configured ?? storeHolder(dataDir)?.endpoint;
  if (endpoint === undefined) {
    throw new Error(`No emulator serves ${dataDir}, and no --endpoint was given: credentials are issued by a running emulator `
      + `(\`ecr-public-local serve --iam --data ${dataDir}\`) and last as long as it runs`);
  }
  const target = { endpoint: endpoint.replace(/\/+$/, ''), credentials: options.rootCredentials ?? DEFAULT_ROOT_CREDENTIALS };
  const described = await callEmulator(target, 'control', 'Describe', {}) as { iam?: boolean };
  if (described.iam !== true) {
    throw new Error(`The emulator at ${target.endpoint} does not evaluate IAM: it takes any credentials. Start it with \`serve --iam\` to try a principal's permissions`);
  }
  return target;
}

/**
 * The stack and logical id of the role or user whose construct path is `constructPath` (`Stack/CiRole`, or
 * `.../Resource`), from the assembly's metadata (written whatever the app's path-metadata setting).
 */
function findPrincipal(assemblyDir: string, constructPath: string): { stack: AssemblyStack; logicalId: string } {
  const wanted = constructPath.replace(/\/+$/, '');
  // The resources at that path or under it: its own (`.../Resource`) first.
  const found: Array<{ stack: AssemblyStack; logicalId: string; type: string }> = [];
  for (const stack of readCloudAssembly(assemblyDir).stacks) {
    for (const [cdkPath, logicalId] of stack.logicalIds) {
      const resource = stack.template.Resources?.[logicalId];
      const at = cdkPath === wanted || cdkPath === `${wanted}/Resource`;
      if (resource !== undefined && (at || cdkPath.startsWith(`${wanted}/`))) found.push({ stack, logicalId, type: resource.Type });
    }
  }
  const principal = found.find((f) => f.type === 'AWS::IAM::Role' || f.type === 'AWS::IAM::User');
  if (principal === undefined) {
    const types = [...new Set(found.map((f) => f.type))].join(', ');
    throw new Error(`'${constructPath}' ${found.length > 0 ? `holds ${types}, and no role or user` : 'is the construct path of no resource in the assembly'}`);
  }
  return principal;
}
