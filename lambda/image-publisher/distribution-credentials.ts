/**
 * Credentials for a source registry, fetched at deploy and never logged: from `ecr:GetAuthorizationToken` (a private
 * Amazon ECR registry, such as the one holding Docker image assets) or from a Secrets Manager secret.
 */
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ImagePublishError, withContext } from './errors';
import type { RegistryCredentials } from '../shared/distribution-client';
import { SDK_MAX_ATTEMPTS } from '../shared/ecr-public-client';
import { log } from '../shared/log';


export type { RegistryCredentials };

/** The credentials `ecr:GetAuthorizationToken` gives in `region`: the token is base64 of `AWS:<password>`. */
export async function ecrCredentials(region: string): Promise<RegistryCredentials> {
  const ecr = new ECRClient({ region, maxAttempts: SDK_MAX_ATTEMPTS });
  try {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}))
      .catch((err: unknown) => { throw withContext(err, `GetAuthorizationToken in ${region}`); });
    const token = out.authorizationData?.[0]?.authorizationToken;
    if (!token) throw new ImagePublishError(`GetAuthorizationToken in ${region} returned no authorization token`);
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new ImagePublishError(`GetAuthorizationToken in ${region} returned a token that is not base64 of user:password`);
    log({ sourceCredentials: 'ecr:GetAuthorizationToken', region });
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  } finally {
    ecr.destroy();
  }
}

/**
 * The credentials in the secret `secretId` (an ARN, whose Region the client follows, or a name): a JSON object with
 * `username` and `password` (or `accessToken`, as ECR pull-through cache secrets have it).
 */
export async function secretCredentials(secretId: string): Promise<RegistryCredentials> {
  const region = /^arn:[a-z0-9-]+:secretsmanager:([a-z0-9-]+):/.exec(secretId)?.[1];
  const client = new SecretsManagerClient({ ...(region ? { region } : {}), maxAttempts: SDK_MAX_ATTEMPTS });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }))
      .catch((err: unknown) => { throw withContext(err, `GetSecretValue of ${secretId}`); });
    const bad = (why: string) => new ImagePublishError(
      `the secret ${secretId} must hold a JSON object with "username" and "password" strings: ${why}`);
    if (typeof out.SecretString !== 'string') throw bad('it has no SecretString');
    let parsed: unknown;
    try {
      parsed = JSON.parse(out.SecretString);
    } catch {
      // The value itself is never quoted: it is a secret.
      throw bad('its value is not JSON');
    }
    const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const username = record.username;
    const password = record.password ?? record.accessToken;
    if (typeof username !== 'string' || username.length === 0) throw bad('"username" is missing or not a string');
    if (typeof password !== 'string' || password.length === 0) throw bad('"password" is missing or not a string');
    log({ sourceCredentials: 'secretsmanager:GetSecretValue', secretId });
    return { username, password };
  } finally {
    client.destroy();
  }
}
