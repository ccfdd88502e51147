/**
 * Fault injection for the emulator: `throttle=0.1,error500=0.05,unavailable=0.02,midstream=0.02,
 * reset=0.01,ttfb=200ms,latency=20ms,gap=50ms`, any item optionally scoped to a region
 * (`us-east-1:throttle=1`). Random draws come from a seeded generator, so a run is repeatable.
 */

export type FaultKind = 'throttle' | 'error500' | 'unavailable' | 'midstream' | 'reset' | 'slow';
export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'error500', 'unavailable', 'midstream', 'reset', 'slow'];
const PROBABILITIES = ['throttle', 'error500', 'unavailable', 'reset', 'midstream'] as const;
const DELAYS = ['ttfb', 'latency', 'gap'] as const;

export interface FaultSettings {
  throttle: number;
  error500: number;
  unavailable: number;
  midstream: number;
  reset: number;
  /** Delay before the response starts (ms). */
  ttfb: number;
  /** Delay added to every response (ms). */
  latency: number;
  /** Delay between stream events (ms). */
  gap: number;
}

export interface FaultSpec {
  all: Partial<FaultSettings>;
  regions: Record<string, Partial<FaultSettings>>;
}

function parseDuration(value: string, item: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  if (!m) throw new TypeError(`faults: "${item}": a delay is a number of ms, like 200ms or 1s`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

/**
 * Parses a fault spec string.
 *
 * @example
 * ```ts
 * parseFaults('throttle=0.1,us-east-1:unavailable=1,ttfb=20ms');
 * // { all: { throttle: 0.1, ttfb: 20 }, regions: { 'us-east-1': { unavailable: 1 } } }
 * ```
 */
export function parseFaults(spec: string | undefined): FaultSpec {
  const out: FaultSpec = { all: {}, regions: {} };
  if (!spec) return out;
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) throw new TypeError(`faults: "${item}" is not name=value`);
    let key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    let target = out.all;
    const colon = key.lastIndexOf(':');
    if (colon >= 0) {
      const region = key.slice(0, colon);
      key = key.slice(colon + 1);
      target = out.regions[region] ??= {};
    }
    if ((PROBABILITIES as readonly string[]).includes(key)) {
      const p = Number(value);
      if (!Number.isFinite(p) || p < 0 || p > 1)
        throw new TypeError(`faults: "${item}": a probability is between 0 and 1`);
      target[key as (typeof PROBABILITIES)[number]] = p;
    } else if ((DELAYS as readonly string[]).includes(key)) {
      target[key as (typeof DELAYS)[number]] = parseDuration(value, item);
    } else {
      throw new TypeError(`faults: unknown fault "${key}" (known: ${[...PROBABILITIES, ...DELAYS].join(', ')})`);
    }
  }
  return out;
}

/** Settings in force for a region: the global ones with the region's on top. */
export function settingsFor(spec: FaultSpec, region: string): FaultSettings {
  return {
    throttle: 0,
    error500: 0,
    unavailable: 0,
    midstream: 0,
    reset: 0,
    ttfb: 0,
    latency: 0,
    gap: 0,
    ...spec.all,
    ...spec.regions[region],
  };
}

/** A small, fast, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws the fault (if any) for one request. `midstream` only applies to streams. */
export function drawFault(settings: FaultSettings, random: () => number, streaming: boolean): FaultKind | undefined {
  for (const kind of PROBABILITIES) {
    if (kind === 'midstream' && !streaming) continue;
    const p = settings[kind];
    if (p > 0 && random() < p) return kind;
  }
  return undefined;
}
