/** The registry: GetRegistryCatalogData, PutRegistryCatalogData, DescribeRegistries and GetAuthorizationToken. */
import { randomBytes } from 'crypto';
import { Context, IssuedToken, nowSeconds, Operation, paginate } from './context';

/** Tokens are valid for 12 hours, as the service's are. */
const TOKEN_LIFETIME_SECONDS = 12 * 60 * 60;

export const getRegistryCatalogData: Operation = (ctx) => {
  return { registryCatalogData: { displayName: ctx.store.state.registry.displayName } };
};

export const putRegistryCatalogData: Operation = (ctx, input) => {
  const { registry } = ctx.store.state;
  // Replace semantics, as for repository catalog data: leaving the name out clears it.
  registry.displayName = input.displayName;
  ctx.store.commit();
  return { registryCatalogData: { displayName: registry.displayName } };
};

export const describeRegistries: Operation = (ctx, input) => {
  const alias = ctx.store.state.registry.alias;
  // Until the first repository exists, the registry has no alias, so there is nothing to describe.
  const registries = alias === undefined ? [] : [{
    registryId: ctx.accountId,
    registryArn: `arn:aws:ecr-public::${ctx.accountId}:registry/${ctx.accountId}`,
    registryUri: `${ctx.host}/${alias}`,
    verified: false,
    aliases: [{ name: alias, status: 'ACTIVE', primaryRegistryAlias: true, defaultRegistryAlias: true }],
  }];
  const { page, nextToken } = paginate(registries, input, 'DescribeRegistries');
  return { registries: page, nextToken };
};

export const getAuthorizationToken: Operation = (ctx, _input, call) => {
  const password = randomBytes(48).toString('base64url');
  const expiresAt = nowSeconds(ctx) + TOKEN_LIFETIME_SECONDS;
  // The registry API's pushes authenticate with `AWS:<password>`; forget the passwords that have expired meanwhile.
  // They are in the order issued, so in the order they expire: the first one still valid ends the look (a clock moved
  // back may leave one expired behind it; it is refused on use all the same, and forgotten later).
  for (const [issued, token] of ctx.authorizationTokens) {
    if (token.expiresAt > nowSeconds(ctx)) break;
    ctx.authorizationTokens.delete(issued);
  }
  ctx.authorizationTokens.set(password, { expiresAt, ...(call?.accessKeyId !== undefined ? { accessKeyId: call.accessKeyId } : {}) });
  return {
    authorizationData: {
      authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'),
      expiresAt,
    },
  };
};

/** The password's record, when GetAuthorizationToken issued it (since the emulator started) and it has not expired. */
export function issuedPassword(ctx: Context, password: string): IssuedToken | undefined {
  const token = ctx.authorizationTokens.get(password);
  return token !== undefined && nowSeconds(ctx) < token.expiresAt ? token : undefined;
}
