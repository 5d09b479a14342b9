/**
 * Walking an index: every manifest it lists, recursively, each once, children before the index that lists them (the
 * order in which a registry accepts them). The walk is a generator so that the synth-time inspector (reading archive
 * files synchronously) and the publisher (fetching from a registry) drive the same walk: it yields each manifest it
 * needs and is sent that manifest, read and checked by the caller.
 */
import { Descriptor } from './descriptor';
import { ParsedManifest } from './manifest';

/**
 * Indexes a manifest may be nested in below the root (the root is at depth 0). Real images nest at most two deep (a
 * `docker save` of a containerd store: index.json → the image's index → its manifests; a registry: index → manifest);
 * the bound stops runaway nesting. It is the synth-time inspector's earlier bound: every archive it accepted is still
 * accepted, and the publisher, which allowed 4 when copying from a registry, now allows the same as the inspector
 * (reference cycles are refused by the path check below, not by this bound).
 */
export const MAX_INDEX_DEPTH = 8;

/** A manifest the walk needs: read it, check it against `descriptor`, and send it back parsed. */
export interface ManifestRequest {
  readonly descriptor: Descriptor;
  /** The digest of the index that lists it. */
  readonly referrer: string;
  /** Indexes above it (the root's children are at 1). */
  readonly depth: number;
}

/**
 * Throws when a manifest reached through `path` (the digests of the indexes above it, root first) at `depth` would be
 * a reference cycle or nested deeper than `MAX_INDEX_DEPTH`. `where` starts the message.
 */
export function checkNesting(digest: string, depth: number, path: ReadonlySet<string>, where: string): void {
  if (path.has(digest)) throw new Error(`${where}: manifest ${digest} refers to itself through the indexes ${[...path].join(' → ')}`);
  if (depth > MAX_INDEX_DEPTH) throw new Error(`${where}: indexes nested more than ${MAX_INDEX_DEPTH} deep at ${digest}`);
}

/**
 * Walks `root`: yields a request for each manifest below it not yet seen, expects it back parsed, and returns every
 * manifest reached (the root last, children before their index, each once). `where` starts the messages.
 */
export function* walkManifests(root: ParsedManifest, where: string): Generator<ManifestRequest, ParsedManifest[], ParsedManifest> {
  const done = new Set<string>();
  const out: ParsedManifest[] = [];
  function* visit(m: ParsedManifest, depth: number, path: ReadonlySet<string>): Generator<ManifestRequest, void, ParsedManifest> {
    if (m.kind === 'index') {
      const inner = new Set(path).add(m.digest);
      for (const child of m.manifests) {
        checkNesting(child.digest, depth + 1, inner, where);
        if (done.has(child.digest)) continue;
        const parsed = yield { descriptor: child, referrer: m.digest, depth: depth + 1 };
        yield* visit(parsed, depth + 1, inner);
      }
    }
    done.add(m.digest);
    out.push(m);
  }
  yield* visit(root, 0, new Set());
  return out;
}

/** Runs `walkManifests` with a synchronous reader. */
export function walkManifestsSync(root: ParsedManifest, where: string, read: (request: ManifestRequest) => ParsedManifest): ParsedManifest[] {
  const walk = walkManifests(root, where);
  for (let step = walk.next(); ; ) {
    if (step.done) return step.value;
    step = walk.next(read(step.value));
  }
}

/** Runs `walkManifests` with an asynchronous reader (one manifest at a time, in walk order). */
export async function walkManifestsAsync(root: ParsedManifest, where: string,
  read: (request: ManifestRequest) => Promise<ParsedManifest>): Promise<ParsedManifest[]> {
  const walk = walkManifests(root, where);
  for (let step = walk.next(); ; ) {
    if (step.done) return step.value;
    step = walk.next(await read(step.value));
  }
}
