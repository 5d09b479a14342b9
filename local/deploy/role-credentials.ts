/**
 * The handlers' credentials, as Lambda gives a function its execution role's (deployer side): each role, as the
 * template declares it now, is registered with the emulator (`DefinePrincipal` of its control API) and given
 * temporary credentials (`IssueCredentials`), so that the emulator's IAM decides every call a handler makes as that
 * role. An emulator that does not evaluate IAM (`serve` without `--iam`) gets the environment's credentials, and the
 * deploy says once that the handlers' policies are not being checked.
 */
import { callEmulator, EmulatorApiError, EmulatorTarget } from './emulator-calls';
import type { HandlerCredentials, RoleCredentialSource } from './handler';
import type { RoleRecord } from './state';

/** What `IssueCredentials` answers. */
interface Issued {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export class EmulatorRoles implements RoleCredentialSource {
  /**
   * Asks the emulator at `target` whether it evaluates IAM; when it does not, `warn` is called once with why the
   * handlers' policies are not checked.
   */
  public static async connect(target: EmulatorTarget, warn: (line: string) => void): Promise<EmulatorRoles> {
    let iam: boolean;
    try {
      iam = ((await callEmulator(target, 'control', 'Describe', {})) as { iam?: unknown }).iam === true;
    } catch (err) {
      if (!(err instanceof EmulatorApiError)) throw err;
      iam = false;
    }
    if (!iam) {
      warn(`warning: the emulator at ${target.endpoint} does not evaluate IAM (start it with \`serve --iam\`): the handlers run with the `
        + 'environment\'s credentials and their roles\' policies are not checked, as they will be on AWS');
    }
    return new EmulatorRoles(target, iam);
  }

  /** Per role ARN: the definition last registered, and the credentials issued to it (they last 12 hours). */
  private readonly registered = new Map<string, { definition: string; credentials: Promise<HandlerCredentials> }>();

  private constructor(private readonly target: EmulatorTarget, public readonly evaluatesIam: boolean) {}

  public async credentialsFor(role: RoleRecord): Promise<HandlerCredentials | undefined> {
    if (!this.evaluatesIam) return undefined;
    const definition = JSON.stringify({ policies: role.policies, tags: role.tags ?? {} });
    const known = this.registered.get(role.arn);
    if (known?.definition === definition) return known.credentials;
    // Registered before any use of its credentials; the policies grow during a deploy as what they name is created,
    // and the credentials already issued follow (the emulator asks the role's current policies on every call).
    const previous = known?.credentials.catch(() => undefined);
    const credentials = (async () => {
      const had = await previous;
      await callEmulator(this.target, 'control', 'DefinePrincipal', { arn: role.arn, policies: role.policies, tags: role.tags ?? {} });
      if (had !== undefined) return had;
      const issued = await callEmulator(this.target, 'control', 'IssueCredentials', { arn: role.arn, sessionName: sessionName(role.arn) }) as Issued;
      return { accessKeyId: issued.accessKeyId, secretAccessKey: issued.secretAccessKey, sessionToken: issued.sessionToken };
    })();
    this.registered.set(role.arn, { definition, credentials });
    try {
      return await credentials;
    } catch (err) {
      // A failed registration is tried again by the next invocation.
      if (this.registered.get(role.arn)?.credentials === credentials) this.registered.delete(role.arn);
      throw err;
    }
  }
}

/** The session name Lambda gives a function's role session is the function's name; the role's name stands in for it. */
function sessionName(arn: string): string {
  const name = arn.split('/').pop() ?? 'ecr-public-local';
  return name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64).padEnd(2, '-');
}
