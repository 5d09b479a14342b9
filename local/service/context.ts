/** What every operation works with, and the lookups they share. */
import { createHash } from 'crypto';
import { Clock } from '../clock';
import { ecrError, invalidParameter, repositoryNotFound } from './errors';
import { has, RepositoryRecord } from '../store/model';
import { Store } from '../store/store';

export interface Limits {
  /** Registered repositories per registry. @default 10000 */
  readonly maxRepositories: number;
  /**
   * Seconds after its start or its last part at which an upload left unfinished expires (both APIs then answer
   * upload-not-found, and its bytes are deleted). The service does not document its own expiry. @default 86400
   */
  readonly uploadExpirySeconds: number;
}

export interface Context {
  readonly store: Store;
  readonly accountId: string;
  /** `host:port` of the emulator: the registry host of every repository URI. */
  readonly host: string;
  /** Base URL for links the emulator serves itself (logos). */
  readonly baseUrl: string;
  /** The alias the registry gets at its first repository. */
  readonly aliasToAssign: string;
  readonly limits: Limits;
  /**
   * Passwords issued by GetAuthorizationToken, to their expiry (epoch seconds): the registry API's push credentials.
   * In memory only, so a restart forgets them.
   */
  /** Registry passwords GetAuthorizationToken issued, in the order issued: when each expires, and to whom. */
  readonly authorizationTokens: Map<string, IssuedToken>;
  /** Every time the emulator records or compares comes from this clock, which tests can move. */
  readonly clock: Clock;
}

/** An operation: validated input in, output members out. Synchronous, so operations never interleave. */
export type Operation = (ctx: Context, input: any, call?: CallInfo) => Record<string, unknown>;

/** Who made the call, when the front door knows (under IAM). */
export interface CallInfo {
  /** The access key that signed it. */
  readonly accessKeyId?: string;
}

/** A registry password: its expiry (epoch seconds) and, under IAM, the access key it was issued to. */
export interface IssuedToken {
  readonly expiresAt: number;
  /** Pushes with the password are decided as this key's principal. @default - no IAM: nobody is asked */
  readonly accessKeyId?: string;
}

/** The default alias: 8 lower-case characters starting with a letter, stable for an account id. */
export function defaultAlias(accountId: string): string {
  const hex = createHash('sha256').update(`ecr-public-alias:${accountId}`).digest();
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const alnum = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let alias = letters[hex[0] % letters.length];
  for (let i = 1; i < 8; i++) alias += alnum[hex[i] % alnum.length];
  return alias;
}

/** Looks up a repository for operations whose `registryId` is a `RegistryId` (the account id only). */
export function findRepository(ctx: Context, input: { registryId?: string; repositoryName: string }): RepositoryRecord {
  const registryId = input.registryId ?? ctx.accountId;
  const { repositories } = ctx.store.state;
  const repo = registryId === ctx.accountId && has(repositories, input.repositoryName) ? repositories[input.repositoryName] : undefined;
  if (!repo) throw repositoryNotFound(input.repositoryName, registryId);
  return repo;
}

/** Looks up a repository on the push path, where `registryId` may be the account id or the registry's alias. */
export function findRepositoryForPush(ctx: Context, input: { registryId?: string; repositoryName: string }): RepositoryRecord {
  const registryId = input.registryId;
  if (registryId !== undefined && registryId !== ctx.accountId && registryId !== ctx.store.state.registry.alias) {
    throw ecrError('RegistryNotFoundException', registryId);
  }
  return findRepository(ctx, { repositoryName: input.repositoryName });
}

export function repositoryArn(ctx: Context, name: string): string {
  return `arn:aws:ecr-public::${ctx.accountId}:repository/${name}`;
}

export function repositoryUri(ctx: Context, name: string): string {
  return `${ctx.host}/${ctx.store.state.registry.alias}/${name}`;
}

export function repositoryOutput(ctx: Context, repo: RepositoryRecord): Record<string, unknown> {
  return {
    repositoryArn: repositoryArn(ctx, repo.name),
    registryId: ctx.accountId,
    repositoryName: repo.name,
    repositoryUri: repositoryUri(ctx, repo.name),
    createdAt: repo.createdAt,
  };
}

/** Epoch seconds on the emulator's clock. */
export function nowSeconds(ctx: Context): number {
  return ctx.clock.now();
}

/**
 * One page of `items`. The token is opaque to clients and bound to the operation and the request it came from, so a
 * token replayed elsewhere is refused.
 */
export function paginate<T>(
  items: readonly T[],
  input: { nextToken?: string; maxResults?: number },
  scope: string,
): { page: T[]; nextToken?: string } {
  const pageSize = input.maxResults ?? 100;
  let offset = 0;
  if (input.nextToken !== undefined) {
    offset = decodeToken(input.nextToken, scope);
  }
  const page = items.slice(offset, offset + pageSize);
  const next = offset + pageSize < items.length ? encodeToken(offset + pageSize, scope) : undefined;
  return { page, nextToken: next };
}

function encodeToken(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ o: offset, s: scope })).toString('base64url');
}

function decodeToken(token: string, scope: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (parsed.s === scope && Number.isInteger(parsed.o) && parsed.o >= 0) return parsed.o;
  } catch {
    // fall through
  }
  throw invalidParameter('nextToken', 'must be a token returned by a previous call of the same request');
}

/** Refuses `nextToken`/`maxResults` alongside an explicit list, as the service documents. */
export function refusePaginationWith(input: Record<string, unknown>, listMember: string): void {
  if (input[listMember] !== undefined && (input.nextToken !== undefined || input.maxResults !== undefined)) {
    throw invalidParameter(listMember, 'cannot be combined with nextToken or maxResults');
  }
}
