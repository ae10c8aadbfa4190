/**
 * Option helpers shared by the commands: commander's camelCase keys, parsing of the
 * common numeric flags with one-line messages that name the flag.
 */
import { UsageError } from '../errors.js';

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
  if (!ok) throw new UsageError(`--${flag}: expected ${opts.what}, got '${String(raw)}'`);
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
