/** The one manifest rule of the OCI core: what the archive inspector and the registry copy accept as a manifest. */
import { manifestMediaType, parseManifest } from '../../src/shared/oci/manifest';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../src/shared/oci/media-types';

const HEX = 'cd'.repeat(32);
const DESCRIPTOR = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${HEX}`, size: 2 };

function bytes(json: unknown): Buffer {
  return Buffer.from(JSON.stringify(json), 'utf8');
}

describe('the media type of a manifest', () => {
  test('its own mediaType comes first, then the descriptor, then what the registry served', () => {
    expect(manifestMediaType({ mediaType: DOCKER_MANIFEST }, {}, 'm')).toBe(DOCKER_MANIFEST);
    expect(manifestMediaType({}, { descriptor: OCI_MANIFEST, served: OCI_MANIFEST }, 'm')).toBe(OCI_MANIFEST);
    expect(manifestMediaType({}, { served: OCI_INDEX }, 'm')).toBe(OCI_INDEX);
  });

  test('hints that are not manifest types are ignored; the shape is never guessed from', () => {
    expect(manifestMediaType({ mediaType: OCI_INDEX }, { served: 'application/json', descriptor: 'application/octet-stream' }, 'm')).toBe(OCI_INDEX);
    expect(() => manifestMediaType({ manifests: [] }, { served: 'application/json' }, 'm'))
      .toThrow('m has no media type (no mediaType member, none in its descriptor, none served)');
    expect(() => manifestMediaType({ config: DESCRIPTOR }, {}, 'm')).toThrow('m has no media type (no mediaType member, none in its descriptor)');
  });

  test('a descriptor or a registry that names another manifest type is refused', () => {
    expect(() => manifestMediaType({ mediaType: OCI_MANIFEST }, { descriptor: DOCKER_MANIFEST }, 'm'))
      .toThrow(`m is ${OCI_MANIFEST}, its descriptor says ${DOCKER_MANIFEST}`);
    expect(() => manifestMediaType({ mediaType: OCI_INDEX }, { served: DOCKER_MANIFEST_LIST }, 'm'))
      .toThrow(`m is ${OCI_INDEX} but was served as ${DOCKER_MANIFEST_LIST}`);
    expect(() => manifestMediaType({}, { descriptor: OCI_INDEX, served: OCI_MANIFEST }, 'm'))
      .toThrow(`m is ${OCI_INDEX} but was served as ${OCI_MANIFEST}`);
  });

  test('an unknown or non-string own type, and schema 1, are refused', () => {
    expect(() => manifestMediaType({ mediaType: 'application/vnd.example.thing+json' }, { descriptor: OCI_MANIFEST }, 'm'))
      .toThrow("m has unknown media type 'application/vnd.example.thing+json'");
    expect(() => manifestMediaType({ mediaType: 7 }, {}, 'm')).toThrow('m has a non-string mediaType');
    expect(() => manifestMediaType({ schemaVersion: 1, name: 'x' }, { served: OCI_MANIFEST }, 'm')).toThrow('m is a Docker schema 1 manifest');
  });
});

describe('parsing a manifest', () => {
  test('an image manifest lists its config and layers; the text is kept byte for byte', () => {
    const text = `{"schemaVersion":2,  "mediaType":"${OCI_MANIFEST}","config":${JSON.stringify(DESCRIPTOR)},"layers":[${JSON.stringify(DESCRIPTOR)}]}`;
    const m = parseManifest(Buffer.from(text), `sha256:${HEX}`, {}, 'm');
    expect(m.kind).toBe('image');
    expect(m.text).toBe(text);
    if (m.kind !== 'image') return;
    expect(m.config.digest).toBe(`sha256:${HEX}`);
    expect(m.layers).toHaveLength(1);
    // Layers may be absent (an artifact with only a config).
    const bare = parseManifest(bytes({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: DESCRIPTOR }), 'd', {}, 'm');
    expect(bare.kind === 'image' && bare.layers).toEqual([]);
  });

  test('an index lists its manifests, each a checked descriptor', () => {
    const m = parseManifest(bytes({ schemaVersion: 2, manifests: [{ ...DESCRIPTOR, mediaType: OCI_MANIFEST, platform: { os: 'linux', architecture: 'amd64' } }] }), 'd',
      { descriptor: OCI_INDEX }, 'm');
    expect(m.kind === 'index' && m.manifests.map((d) => d.platform?.architecture)).toEqual(['amd64']);
    expect(() => parseManifest(bytes({ mediaType: OCI_INDEX, manifests: [{ digest: 'sha256:x', size: 1 }] }), 'd', {}, 'm'))
      .toThrow('m manifests[0]: malformed digest "sha256:x"');
  });

  test.each([
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), 'm is not valid UTF-8'],
    ['text that is not JSON', Buffer.from('{"a":'), 'm: is not valid JSON'],
    ['JSON that is not an object', bytes([OCI_MANIFEST]), 'm is not a JSON object'],
    ['an index without manifests', bytes({ mediaType: OCI_INDEX }), 'm: index has no manifests array'],
    ['an image manifest without a config', bytes({ mediaType: OCI_MANIFEST, layers: [] }), 'm config: descriptor is not an object'],
    ['layers that are not an array', bytes({ mediaType: DOCKER_MANIFEST, config: DESCRIPTOR, layers: {} }), 'm: layers is not an array'],
  ])('%s is refused', (_what, input, message) => {
    expect(() => parseManifest(input, 'd', {}, 'm')).toThrow(message);
  });
});
