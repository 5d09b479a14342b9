/** Fault injection: throttling, server errors, dropped connections and latency, reproducible from a seed. */

export interface FaultOptions {
  /** Share of API requests answered with ThrottlingException (0-1). @default 0 */
  readonly throttleRate?: number;
  /** Share of API requests answered with ServerException (0-1). @default 0 */
  readonly serverErrorRate?: number;
  /** Share of API requests whose connection is dropped, half of them after the operation ran (0-1). @default 0 */
  readonly dropRate?: number;
  /** Milliseconds added to every API request. @default 0 */
  readonly latencyMs?: number;
  /** Seed of the generator that decides which requests fail. @default 1 */
  readonly seed?: number;
}

export type FaultDecision = 'none' | 'throttle' | 'server-error' | 'drop-before' | 'drop-after';

export class FaultInjector {
  private options: FaultOptions = {};
  private next: () => number = mulberry32(1);

  constructor(options?: FaultOptions) {
    this.configure(options ?? {});
  }

  /** Replaces the fault settings and restarts the sequence from the seed. */
  public configure(options: FaultOptions): void {
    for (const key of ['throttleRate', 'serverErrorRate', 'dropRate'] as const) {
      const rate = options[key];
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new Error(`faults.${key} must be between 0 and 1 (got ${rate})`);
    }
    this.options = { ...options };
    this.next = mulberry32(options.seed ?? 1);
  }

  public get latencyMs(): number {
    return this.options.latencyMs ?? 0;
  }

  /** Draws the fate of one request. */
  public decide(): FaultDecision {
    const { throttleRate = 0, serverErrorRate = 0, dropRate = 0 } = this.options;
    if (throttleRate + serverErrorRate + dropRate === 0) return 'none';
    const r = this.next();
    if (r < throttleRate) return 'throttle';
    if (r < throttleRate + serverErrorRate) return 'server-error';
    if (r < throttleRate + serverErrorRate + dropRate) return this.next() < 0.5 ? 'drop-before' : 'drop-after';
    return 'none';
  }
}

/** Parses `throttle=0.1,server=0.05,drop=0.02,latency=5,seed=42` (the ECR_PUBLIC_LOCAL_FAULTS format). */
export function parseFaultSpec(spec: string): FaultOptions {
  const names: Record<string, keyof FaultOptions> = {
    throttle: 'throttleRate', server: 'serverErrorRate', drop: 'dropRate', latency: 'latencyMs', seed: 'seed',
  };
  const out: Record<string, number> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [key, value] = part.split('=');
    const name = names[key];
    const n = Number(value);
    if (!name || value === undefined || Number.isNaN(n)) {
      throw new Error(`Unknown fault setting '${part}': expected throttle=R, server=R, drop=R, latency=MS or seed=N`);
    }
    out[name] = n;
  }
  return out;
}

/** A small, fast PRNG with a 32-bit state: the same seed gives the same sequence everywhere. */
/* eslint-disable no-bitwise -- the generator is bit arithmetic by definition */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/* eslint-enable no-bitwise */
