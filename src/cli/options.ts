/**
 * Option helpers shared by the commands: commander's camelCase keys, parsing of the
 * common numeric flags with one-line messages that name the flag.
 */
import { UsageError } from '../errors.js';
import { CHECK_MODES, type CheckMode } from '../gradcheck/modes.js';
import type { DType } from '../tensor/tensor.js';
import { clip } from '../text/escape.js';

/** The key commander stores `--pool-height` under: `poolHeight`. */
export function optionKey(flag: string): string {
  return flag.replace(/-([a-zA-Z])/g, (_, ch: string) => ch.toUpperCase());
}

/** Parse a numeric flag value with a domain check; throws UsageError naming the flag. */
export function parseNumberFlag(
  flag: string,
  raw: unknown,
  opts: { integer?: boolean; min?: number; minExclusive?: boolean; max?: number; what: string },
): number {
  const text = String(raw).trim();
  const v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  const ok =
    Number.isFinite(v) &&
    (!opts.integer || Number.isInteger(v)) &&
    (opts.min === undefined || (opts.minExclusive ? v > opts.min : v >= opts.min)) &&
    (opts.max === undefined || v <= opts.max);
  if (!ok) throw new UsageError(`--${flag}: expected ${opts.what}, got '${clip(String(raw))}'`);
  return v;
}

/** The common flags of every checking command, parsed. */
export interface CommonCheckFlags {
  seed: number;
  h: number;
  maxError?: number;
  json: boolean;
  color: boolean;
  strictKinks: boolean;
  repeat: number;
}

/** Parse the flags every layer command shares. */
export function parseCommonFlags(o: Record<string, unknown>, defaultSeed: number): CommonCheckFlags {
  return {
    seed: o.seed === undefined ? defaultSeed : parseNumberFlag('seed', o.seed, { integer: true, min: 0, max: 4294967295, what: 'an integer in [0, 4294967295]' }),
    h: o.h === undefined ? 1e-5 : parseNumberFlag('h', o.h, { min: 0, minExclusive: true, max: 1, what: 'a step in (0, 1] such as 1e-5' }),
    maxError: o.maxError === undefined ? undefined : parseNumberFlag('max-error', o.maxError, { min: 0, minExclusive: true, what: 'a positive number such as 1e-7' }),
    json: o.json === true,
    color: o.color !== false,
    strictKinks: o.strictKinks === true,
    repeat: o.repeat === undefined ? 5 : parseNumberFlag('repeat', o.repeat, { integer: true, min: 0, max: 10000, what: 'an integer in [0, 10000]' }),
  };
}

/** The flags of checks at scale: mode, samples, directions, budget, dtype, h sweep. */
export interface ScaleCheckFlags {
  checkMode: CheckMode;
  samples?: number;
  directions?: number;
  budget?: number;
  dtype: DType;
  hSweep: boolean;
}

/** Parse `--check-mode`, `--samples`, `--directions`, `--budget`, `--dtype` and `--h-sweep`. */
export function parseScaleFlags(o: Record<string, unknown>): ScaleCheckFlags {
  const mode = String(o.checkMode ?? 'auto');
  if (!(CHECK_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`--check-mode: expected one of ${CHECK_MODES.join(', ')}, got '${mode}'`);
  }
  const dtype = String(o.dtype ?? 'float64');
  if (dtype !== 'float64' && dtype !== 'float32') throw new UsageError(`--dtype: expected float64 or float32, got '${dtype}'`);
  return {
    checkMode: mode as CheckMode,
    samples: o.samples === undefined ? undefined : parseNumberFlag('samples', o.samples, { integer: true, min: 1, what: 'an integer >= 1' }),
    directions: o.directions === undefined ? undefined : parseNumberFlag('directions', o.directions, { integer: true, min: 1, what: 'an integer >= 1' }),
    budget: o.budget === undefined ? undefined : parseNumberFlag('budget', o.budget, { min: 0, minExclusive: true, what: 'a positive number of seconds' }),
    dtype,
    hSweep: o.hSweep === true,
  };
}
