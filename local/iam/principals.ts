/**
 * The principals the emulator knows and the credentials it issued them (emulator side): the root of its account (a
 * long-term key pair, `local`/`local` unless told otherwise), the roots of other accounts asked for (cross-account
 * trials), and the roles and users of deployed apps with their identity policies, for which it issues temporary
 * credentials as STS does (an `ASIA` access key, a secret, a session token, an expiry). A request's access key finds
 * its signing secret (`sigv4.ts`) and its caller (`evaluate.ts`) here.
 */
import { randomBytes } from 'crypto';
import { Caller } from './evaluate';
import { Policy } from './policy';
import { KnownKey } from './sigv4';

/** A role or user of a deployed app, as its template declares it. */
export interface PrincipalDefinition {
  /** `arn:aws:iam::<account>:role/<name>` or `...:user/<name>`. */
  readonly arn: string;
  readonly policies: readonly Policy[];
  /** Its tags (`aws:PrincipalTag/<key>`). @default - none */
  readonly tags?: ReadonlyMap<string, string>;
}

/** Credentials as Lambda and `aws sts assume-role` give them. */
export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Absent for a root's long-term key. */
  readonly sessionToken?: string;
  /** Epoch seconds. Absent for a long-term key. */
  readonly expiration?: number;
}

interface KeyEntry {
  readonly key: KnownKey;
  /** The principal's ARN: the caller is built from the directory's current definition, so a redeploy applies at once. */
  readonly arn: string;
  readonly session?: string;
}

/** How long issued credentials last, as Lambda's do (they are renewed long before). */
export const SESSION_SECONDS = 12 * 60 * 60;

const ROLE_OR_USER = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/;

export class PrincipalDirectory {
  private readonly definitions = new Map<string, PrincipalDefinition>();
  private readonly keys = new Map<string, KeyEntry>();

  /** The directory of `account`, whose root signs with `root`. */
  constructor(public readonly account: string, root: { readonly accessKeyId: string; readonly secretAccessKey: string }) {
    this.keys.set(root.accessKeyId, { key: { secretAccessKey: root.secretAccessKey }, arn: rootArn(account) });
  }

  /** Adds or replaces a role or user (a deploy declares them; a redeploy replaces their policies). */
  public define(definition: PrincipalDefinition): void {
    if (!ROLE_OR_USER.test(definition.arn)) throw new Error(`'${definition.arn}' is not the ARN of an IAM role or user`);
    this.definitions.set(definition.arn, definition);
  }

  /** Forgets a role or user (its stack was destroyed); credentials issued to it stop working. */
  public remove(arn: string): void {
    this.definitions.delete(arn);
  }

  public has(arn: string): boolean {
    return this.definitions.has(arn) || this.isRoot(arn);
  }

  /**
   * Temporary credentials for the role or user `arn` (a role's session is named `session`), valid for `seconds` from
   * `nowSeconds`; or a long-term key pair for the root of another account (`arn:aws:iam::<account>:root`).
   */
  public issue(arn: string, nowSeconds: number, session = 'ecr-public-local', seconds = SESSION_SECONDS): IssuedCredentials {
    if (this.isRoot(arn)) {
      const accessKeyId = `AKIA${randomId(16)}`;
      const secretAccessKey = randomSecret();
      this.keys.set(accessKeyId, { key: { secretAccessKey }, arn });
      return { accessKeyId, secretAccessKey };
    }
    if (!this.definitions.has(arn)) throw new Error(`no role or user '${arn}' is known: deploy the app that declares it first`);
    const accessKeyId = `ASIA${randomId(16)}`;
    const secretAccessKey = randomSecret();
    const sessionToken = randomBytes(48).toString('base64');
    const expiration = Math.floor(nowSeconds) + seconds;
    this.keys.set(accessKeyId, { key: { secretAccessKey, sessionToken, expiresAt: expiration }, arn, session });
    return { accessKeyId, secretAccessKey, sessionToken, expiration };
  }

  /** The signing secret of `accessKeyId`, when it is a key the directory issued or knows. */
  public keyOf(accessKeyId: string): KnownKey | undefined {
    const entry = this.keys.get(accessKeyId);
    if (entry === undefined || (!this.isRoot(entry.arn) && !this.definitions.has(entry.arn))) return undefined;
    return entry.key;
  }

  /** Who signs with `accessKeyId` (after the signature is verified), with the policies the principal has now. */
  public callerOf(accessKeyId: string): Caller | undefined {
    const entry = this.keys.get(accessKeyId);
    if (entry === undefined) return undefined;
    if (this.isRoot(entry.arn)) {
      const account = /::(\d{12}):root$/.exec(entry.arn)![1];
      return { arn: entry.arn, principalArn: entry.arn, account, type: 'Account', tags: new Map(), policies: [] };
    }
    const definition = this.definitions.get(entry.arn);
    if (definition === undefined) return undefined;
    const [, account, kind, name] = ROLE_OR_USER.exec(definition.arn)!;
    const partition = definition.arn.split(':')[1];
    return kind === 'role'
      ? {
        arn: `arn:${partition}:sts::${account}:assumed-role/${name}/${entry.session ?? 'ecr-public-local'}`,
        principalArn: definition.arn,
        account,
        type: 'AssumedRole',
        tags: definition.tags ?? new Map(),
        policies: definition.policies,
      }
      : { arn: definition.arn, principalArn: definition.arn, account, type: 'User', tags: definition.tags ?? new Map(), policies: definition.policies };
  }

  private isRoot(arn: string): boolean {
    return /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(arn);
  }
}

export function rootArn(account: string, partition = 'aws'): string {
  return `arn:${partition}:iam::${account}:root`;
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join('');
}

function randomSecret(): string {
  return randomBytes(30).toString('base64');
}
