/** The index walk of the OCI core: the order, each manifest once, cycles, and the one nesting bound at its boundary. */
import { ParsedImageManifest, ParsedIndex, ParsedManifest } from '../../src/shared/oci/manifest';
import { OCI_INDEX, OCI_MANIFEST } from '../../src/shared/oci/media-types';
import { checkNesting, ManifestRequest, MAX_INDEX_DEPTH, walkManifestsAsync, walkManifestsSync } from '../../src/shared/oci/walk';

const digest = (name: string) => `sha256:${Buffer.from(name.padEnd(32, '.')).toString('hex')}`;
const descriptor = (name: string) => ({ digest: digest(name), size: 1 });

function image(name: string): ParsedImageManifest {
  return { kind: 'image', digest: digest(name), mediaType: OCI_MANIFEST, text: name, json: {}, config: descriptor(`${name}-config`), layers: [] };
}

function index(name: string, children: string[]): ParsedIndex {
  return { kind: 'index', digest: digest(name), mediaType: OCI_INDEX, text: name, json: {}, manifests: children.map(descriptor) };
}

/** A store of manifests by digest, which records what the walk asked for. */
function store(...manifests: ParsedManifest[]): { read: (r: ManifestRequest) => ParsedManifest; asked: ManifestRequest[] } {
  const byDigest = new Map(manifests.map((m) => [m.digest, m]));
  const asked: ManifestRequest[] = [];
  return {
    asked,
    read: (r) => {
      asked.push(r);
      const m = byDigest.get(r.descriptor.digest);
      if (!m) throw new Error(`no manifest ${r.descriptor.digest}`);
      return m;
    },
  };
}

/** Indexes `chain-0` → `chain-1` → ... → `chain-<depth>` (an image manifest at `depth`). */
function chain(depth: number): ParsedManifest[] {
  const out: ParsedManifest[] = [image(`chain-${depth}`)];
  for (let i = depth - 1; i >= 0; i--) out.unshift(index(`chain-${i}`, [`chain-${i + 1}`]));
  return out;
}

const texts = (ms: ParsedManifest[]) => ms.map((m) => m.text);

test('children come before the index that lists them, the root last, each manifest once', () => {
  const s = store(index('inner', ['b', 'shared']), image('a'), image('b'), image('shared'));
  const root = index('root', ['a', 'inner', 'shared']);
  expect(texts(walkManifestsSync(root, 'w', s.read))).toEqual(['a', 'b', 'shared', 'inner', 'root']);
  // `shared` was read once: the second listing finds it done.
  expect(s.asked.map((r) => r.descriptor.digest).filter((d) => d === digest('shared'))).toHaveLength(1);
  expect(s.asked.find((r) => r.descriptor.digest === digest('b'))).toMatchObject({ referrer: digest('inner'), depth: 2 });
});

test('an image manifest as root is the whole walk', () => {
  const s = store();
  expect(texts(walkManifestsSync(image('only'), 'w', s.read))).toEqual(['only']);
  expect(s.asked).toEqual([]);
});

test('the synchronous and the asynchronous walk ask in the same order and give the same result', async () => {
  const manifests = [index('inner', ['b', 'c']), image('a'), image('b'), image('c')];
  const sync = store(...manifests);
  const async = store(...manifests);
  const root = index('root', ['a', 'inner']);
  const one = walkManifestsSync(root, 'w', sync.read);
  const other = await walkManifestsAsync(root, 'w', async (r) => async.read(r));
  expect(texts(other)).toEqual(texts(one));
  expect(async.asked).toEqual(sync.asked);
});

test('an index that lists itself, directly or through another, is a cycle', () => {
  const looped = index('loop', ['loop']);
  expect(() => walkManifestsSync(looped, 'w', store(looped).read)).toThrow(`w: manifest ${digest('loop')} refers to itself through the indexes ${digest('loop')}`);
  const a = index('a', ['b']);
  const b = index('b', ['a']);
  expect(() => walkManifestsSync(a, 'w', store(a, b).read)).toThrow(`w: manifest ${digest('a')} refers to itself`);
});

test(`a manifest ${MAX_INDEX_DEPTH} indexes deep is walked; one deeper is refused before it is read`, async () => {
  const [root, ...rest] = chain(MAX_INDEX_DEPTH);
  expect(walkManifestsSync(root, 'w', store(...rest).read)).toHaveLength(MAX_INDEX_DEPTH + 1);

  const [deepRoot, ...deeper] = chain(MAX_INDEX_DEPTH + 1);
  const s = store(...deeper);
  const refusal = `w: indexes nested more than ${MAX_INDEX_DEPTH} deep at ${digest(`chain-${MAX_INDEX_DEPTH + 1}`)}`;
  expect(() => walkManifestsSync(deepRoot, 'w', s.read)).toThrow(refusal);
  expect(s.asked.map((r) => r.depth)).toEqual([...Array(MAX_INDEX_DEPTH).keys()].map((i) => i + 1));
  await expect(walkManifestsAsync(deepRoot, 'w', async (r) => store(...deeper).read(r))).rejects.toThrow(refusal);
});

test('checkNesting: the bound is on the depth, the cycle on the path', () => {
  expect(() => checkNesting(digest('x'), MAX_INDEX_DEPTH, new Set([digest('y')]), 'w')).not.toThrow();
  expect(() => checkNesting(digest('x'), MAX_INDEX_DEPTH + 1, new Set(), 'w')).toThrow(`nested more than ${MAX_INDEX_DEPTH} deep`);
  expect(() => checkNesting(digest('x'), 1, new Set([digest('x')]), 'w')).toThrow('refers to itself');
});
