/**
 * The registry API's credentials, as on public.ecr.aws: pulls are anonymous; pushes need `Basic base64(AWS:<password>)`
 * with a password GetAuthorizationToken issued and that has not expired.
 */
import { IncomingMessage } from 'http';
import { RegistryError } from './errors';
import { Context, IssuedToken } from '../service/context';
import { issuedPassword } from '../service/public-registry';

/** The user name of the credentials, as `aws ecr-public get-login-password` is used (`--username AWS`). */
const USER = 'AWS';
const INVALID_MESSAGE = 'the credentials are not a password issued by GetAuthorizationToken to user AWS, or it has expired';

/** `Basic realm="<host>"`: the challenge of every 401, and of the `/v2/` ping, so that clients send credentials. */
export function authChallenge(ctx: Context): string {
  return `Basic realm="${ctx.host}"`;
}

/**
 * Checks an `Authorization` header: 'missing' without one (or with empty Basic credentials), the password's record for
 * `Basic base64(AWS:<password>)` with a password GetAuthorizationToken issued and that has not expired, 'invalid'
 * otherwise (other schemes included).
 */
export function checkCredentials(ctx: Context, header: string | undefined): 'missing' | 'invalid' | IssuedToken {
  if (header === undefined || header.trim() === '') return 'missing';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return 'invalid';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  // `Basic Og==` (an empty user and password) is what containers/image sends when it has no credentials.
  if (decoded === ':') return 'missing';
  const colon = decoded.indexOf(':');
  if (colon < 0 || decoded.slice(0, colon) !== USER) return 'invalid';
  return issuedPassword(ctx, decoded.slice(colon + 1)) ?? 'invalid';
}

/** A push: 401 UNAUTHORIZED, with the challenge, unless the request carries valid credentials; the password's record. */
export function requirePushCredentials(ctx: Context, req: IncomingMessage): IssuedToken {
  const credentials = checkCredentials(ctx, req.headers.authorization);
  if (typeof credentials === 'object') return credentials;
  throw new RegistryError('UNAUTHORIZED', credentials === 'missing'
    ? 'authentication required: pushes need the password of GetAuthorizationToken (user AWS)'
    : INVALID_MESSAGE, { 'WWW-Authenticate': authChallenge(ctx) });
}

/**
 * The ping's credentials: none are needed (pulls are anonymous), but credentials that are sent must be good; 401 with
 * the challenge otherwise.
 */
export function refuseInvalidCredentials(ctx: Context, req: IncomingMessage): void {
  if (checkCredentials(ctx, req.headers.authorization) === 'invalid') {
    throw new RegistryError('UNAUTHORIZED', INVALID_MESSAGE, { 'WWW-Authenticate': authChallenge(ctx) });
  }
}
