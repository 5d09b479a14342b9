/** The digest and descriptor rules of the OCI core that the archive inspector and the publisher share. */
import { createHash } from 'node:crypto';
import { parseDescriptor } from '../../src/shared/oci/descriptor';
import { blobName, checkDigest, isSha256Digest, sha256 } from '../../src/shared/oci/digest';

const HEX = 'ab'.repeat(32);

describe('digests', () => {
  test('sha256 of text is the sha256 of its UTF-8 bytes', () => {
    const text = 'manifest ✓';
    expect(sha256(text)).toBe(`sha256:${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex')}`);
    expect(sha256(Buffer.from(text, 'utf8'))).toBe(sha256(text));
  });

  test('only sha256 with 64 lowercase hex digits is a digest', () => {
    expect(isSha256Digest(`sha256:${HEX}`)).toBe(true);
    for (const bad of [`sha256:${HEX.toUpperCase()}`, `sha256:${HEX}0`, `sha256:${HEX.slice(1)}`, `sha512:${HEX}`, ` sha256:${HEX}`, 42, undefined]) {
      expect(isSha256Digest(bad)).toBe(false);
    }
  });

  test('checkDigest names the problem: missing, another algorithm, or malformed', () => {
    expect(checkDigest(`sha256:${HEX}`, 'x')).toBe(`sha256:${HEX}`);
    expect(() => checkDigest(undefined, 'index.json manifests[0]')).toThrow('index.json manifests[0]: digest is missing or not a string');
    expect(() => checkDigest(`sha512:${'a'.repeat(128)}`, 'w')).toThrow('w: unsupported digest algorithm');
    expect(() => checkDigest('sha256:../../etc/passwd', 'w')).toThrow('w: malformed digest "sha256:../../etc/passwd"');
  });

  test('a blob is named by its digest in a layout', () => {
    expect(blobName(`sha256:${HEX}`)).toBe(`blobs/sha256/${HEX}`);
  });
});

describe('descriptors', () => {
  test('a descriptor keeps its digest, size, media type, urls and platform', () => {
    const d = parseDescriptor({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${HEX}`,
      size: 7,
      urls: ['https://x'],
      platform: { 'os': 'linux', 'architecture': 'arm64', 'variant': 'v8', 'os.version': '1' },
      annotations: { a: 'b' },
    }, 'w');
    expect(d).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${HEX}`,
      size: 7,
      urls: ['https://x'],
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
  });

  test('a platform keeps only string members; an entry without one has none', () => {
    expect(parseDescriptor({ digest: `sha256:${HEX}`, size: 1, platform: { os: 1, architecture: 'amd64' } }, 'w').platform)
      .toEqual({ os: undefined, architecture: 'amd64', variant: undefined });
    expect(parseDescriptor({ digest: `sha256:${HEX}`, size: 1, platform: 'linux' }, 'w')).not.toHaveProperty('platform');
    expect(parseDescriptor({ digest: `sha256:${HEX}`, size: 1 }, 'w')).not.toHaveProperty('platform');
  });

  test.each([
    [null, 'w: descriptor is not an object'],
    [[], 'w: descriptor is not an object'],
    [{ digest: `sha256:${HEX}`, size: -1 }, `w: descriptor of sha256:${HEX} has a bad size -1`],
    [{ digest: `sha256:${HEX}`, size: 1.5 }, `w: descriptor of sha256:${HEX} has a bad size 1.5`],
    [{ digest: `sha256:${HEX}`, size: '3' }, `w: descriptor of sha256:${HEX} has a bad size "3"`],
    [{ digest: `sha256:${HEX}`, size: 2 ** 53 }, `w: descriptor of sha256:${HEX} has a bad size ${2 ** 53}`],
    [{ digest: `sha256:${HEX}`, size: 3, mediaType: 5 }, `w: descriptor of sha256:${HEX} has a non-string mediaType`],
    [{ digest: 'md5:abc', size: 3 }, 'w: unsupported digest algorithm in "md5:abc"'],
    [{ digest: 'sha256:abc', size: 3 }, 'w: malformed digest "sha256:abc"'],
  ])('%j is refused', (value, message) => {
    expect(() => parseDescriptor(value, 'w')).toThrow(message);
  });
});
