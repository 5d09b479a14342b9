/**
 * The pure pieces of registry copies: references, platforms, WWW-Authenticate challenges, errors, the registry
 * properties.
 */
import { asPublishError, withContext } from '../../lambda/image-publisher/errors';
import { parseSettings } from '../../lambda/image-publisher/settings';
import { registryOrigin } from '../../lambda/shared/distribution-client';
import { sourceRegistryError } from '../../lambda/shared/distribution-errors';
import { parseChallenges } from '../../lambda/shared/www-authenticate';
import {
  formatImageReference, parseImageReference, parsePlatform, platformMatches, preferredPlatform, privateEcrRegistry,
} from '../../src/shared/image-reference';
import { ImageProperties } from '../../src/shared/publish-plan';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('image references', () => {
  test.each([
    ['ghcr.io/acme/tool:2.1', { registry: 'ghcr.io', repository: 'acme/tool', tag: '2.1' }],
    ['alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['docker.io/alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['public.ecr.aws/docker/library/alpine:3.20', { registry: 'public.ecr.aws', repository: 'docker/library/alpine', tag: '3.20' }],
    ['localhost:5000/a/b', { registry: 'localhost:5000', repository: 'a/b', tag: 'latest' }],
    ['127.0.0.1:5000/a@' + DIGEST, { registry: '127.0.0.1:5000', repository: 'a', digest: DIGEST }],
    ['ghcr.io/acme/tool:2.1@' + DIGEST, { registry: 'ghcr.io', repository: 'acme/tool', tag: '2.1', digest: DIGEST }],
    ['[::1]:5000/x:y', { registry: '[::1]:5000', repository: 'x', tag: 'y' }],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/cdk-hnb659fds-container-assets-123456789012-eu-west-1:' + 'f'.repeat(64),
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', repository: 'cdk-hnb659fds-container-assets-123456789012-eu-west-1', tag: 'f'.repeat(64) }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
  });

  test.each([
    ['', /it is empty/],
    ['https://ghcr.io/acme/tool', /must not have a scheme/],
    ['ghcr.io/Acme/tool', /repository component "Acme"/],
    ['ghcr.io/acme/tool:bad tag', /white space/],
    ['ghcr.io/acme/tool:-bad', /the tag "-bad"/],
    ['ghcr.io/acme/tool@sha256:abc', /the digest "sha256:abc"/],
    ['ghcr.io/', /names no repository/],
    ['ghcr.io/acme//tool', /repository component ""/],
  ])('%j is refused', (text, message) => {
    expect(() => parseImageReference(text)).toThrow(message);
  });

  test('formatting gives the fully qualified reference back', () => {
    expect(formatImageReference(parseImageReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(formatImageReference(parseImageReference(`ghcr.io/a/b@${DIGEST}`))).toBe(`ghcr.io/a/b@${DIGEST}`);
  });

  test('private ECR hosts are recognised; the origin is https but for loopback, and Docker Hub is registry-1', () => {
    expect(privateEcrRegistry('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(privateEcrRegistry('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toEqual({ account: '123456789012', region: 'cn-north-1' });
    expect(privateEcrRegistry('public.ecr.aws')).toBeUndefined();
    expect(registryOrigin('docker.io')).toBe('https://registry-1.docker.io');
    expect(registryOrigin('index.docker.io')).toBe('https://registry-1.docker.io');
    expect(registryOrigin('ghcr.io')).toBe('https://ghcr.io');
    expect(registryOrigin('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryOrigin('localhost:5000')).toBe('http://localhost:5000');
    expect(registryOrigin('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryOrigin('127.0.0.1.nip.io:5000')).toBe('https://127.0.0.1.nip.io:5000');
  });
});

describe('platforms', () => {
  test('parse os/architecture[/variant]; anything else is refused', () => {
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    for (const bad of ['linux', 'linux/', 'linux/arm/v7/x', 'Linux/AMD64 ']) expect(() => parsePlatform(bad)).toThrow(/is not a platform/);
  });

  test('a platform without a variant matches every variant; a default variant equals none', () => {
    const arm64 = parsePlatform('linux/arm64');
    expect(platformMatches(arm64, { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches(arm64, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches(arm64, { os: 'linux', architecture: 'amd64' })).toBe(false);
    expect(platformMatches(arm64, { os: 'windows', architecture: 'arm64' })).toBe(false);
    expect(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(false);
    const arm = parsePlatform('linux/arm');
    const entries = [{ id: 'v6', platform: { variant: 'v6' } }, { id: 'v7', platform: { variant: 'v7' } }];
    expect(preferredPlatform(arm, entries)?.id).toBe('v7');
    expect(preferredPlatform(parsePlatform('linux/arm/v6'), entries)?.id).toBe('v6');
    expect(preferredPlatform(arm, [])).toBeUndefined();
  });
});

describe('WWW-Authenticate', () => {
  test('a Bearer challenge with quoted parameters (commas and escapes inside quotes)', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"'))
      .toEqual([{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull,push' } }]);
    expect(parseChallenges('Bearer realm="a\\"b", error=invalid_token')).toEqual([{ scheme: 'bearer', params: { realm: 'a"b', error: 'invalid_token' } }]);
  });

  test('several challenges in one value, Basic without parameters, and nothing', () => {
    expect(parseChallenges('Basic realm="x", Bearer realm="https://t/token",service="s"')).toEqual([
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
    ]);
    expect(parseChallenges('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
    expect(parseChallenges(null)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
  });
});

describe('registry errors', () => {
  test('the first error code names the error; messages and details make its message', () => {
    const err = sourceRegistryError(404, JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'x' } }] }), 'GET r/n manifest x');
    expect(err.name).toBe('MANIFEST_UNKNOWN');
    expect(err.message).toBe('GET r/n manifest x: manifest unknown {"Tag":"x"} (HTTP 404)');
    const html = sourceRegistryError(502, '<html>\n<body>Bad   Gateway</body></html>', 'GET r/n blob d');
    expect(html.name).toBe('HTTP_502');
    expect(html.message).toBe('GET r/n blob d: <html> <body>Bad Gateway</body></html> (HTTP 502)');
  });
});

describe('failures of the shared image-format rules', () => {
  test('a rule of src/shared/oci refused it: the failure is the publisher\'s own; a named error keeps its name', () => {
    const rule = asPublishError(new Error('manifest m is application/vnd.oci.image.index.v1+json but was served as application/json'));
    expect(rule.name).toBe('ImagePublishError');
    expect(rule.message).toBe('manifest m is application/vnd.oci.image.index.v1+json but was served as application/json');
    const registry = sourceRegistryError(404, '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', 'GET r/n manifest x');
    expect(asPublishError(registry)).toBe(registry);
    const api = withContext(Object.assign(new Error('gone'), { name: 'RepositoryNotFoundException' }), 'PutImage');
    expect(asPublishError(api)).toBe(api);
    expect(asPublishError('text').name).toBe('ImagePublishError');
  });
});

describe('registry properties', () => {
  const base: ImageProperties = { RepositoryName: 'r', SourceImage: 'ghcr.io/acme/tool:2.1', CompressLayers: 'true', Concurrency: '2', DeleteOnRemove: 'false' };

  test('a registry source: anonymous by default, never compressed, platform parsed', () => {
    expect(parseSettings(base)).toEqual({
      repositoryName: 'r',
      source: { kind: 'registry', reference: { registry: 'ghcr.io', repository: 'acme/tool', tag: '2.1' }, auth: 'anonymous', includeReferrers: true },
      tags: [],
      compressLayers: false,
      concurrency: 2,
      deleteOnRemove: false,
    });
    expect(parseSettings({ ...base, SourceAuth: 'secret', SourceSecretArn: 'arn:x', SourcePlatform: 'linux/arm64' }).source)
      .toEqual({
        kind: 'registry',
        reference: expect.anything(),
        auth: 'secret',
        secretArn: 'arn:x',
        platform: { os: 'linux', architecture: 'arm64' },
        includeReferrers: true,
      });
    expect(parseSettings({ ...base, IncludeReferrers: 'false' }).source).toMatchObject({ includeReferrers: false });
    expect(() => parseSettings({ ...base, IncludeReferrers: 'no' })).toThrow("IncludeReferrers must be 'true' or 'false' (got \"no\")");
    expect(parseSettings({ ...base, SourceAuth: 'ecr', SourceEcrRegion: 'eu-west-1' }).source).toMatchObject({ auth: 'ecr', ecrRegion: 'eu-west-1' });
  });

  test.each([
    [{ SourceAuth: 'password' }, /SourceAuth must be one of anonymous, ecr, secret/],
    [{ SourceAuth: 'secret' }, /SourceAuth 'secret' needs SourceSecretArn/],
    [{ SourceAuth: 'ecr' }, /SourceAuth 'ecr' needs SourceEcrRegion/],
    [{ SourceImage: 'https://x/y' }, /must not have a scheme/],
    [{ SourcePlatform: 'arm64' }, /is not a platform/],
    [{ ArchiveBucket: 'b' }, /SourceImage and ArchiveBucket exclude each other/],
    [{ SourceImage: undefined }, /ArchiveBucket and ArchiveKey \(or SourceImage\) are required/],
  ])('%j is refused', (override, message) => {
    expect(() => parseSettings({ ...base, ...override } as ImageProperties)).toThrow(message);
  });
});
