/**
 * Value domains, shared by every setting (settings/schema.ts) and every layer param
 * (layers/*.ts): one description of what a value may be, one parser with one message format,
 * whether the value comes from a flag (text) or from a JSON document (a suite entry, a
 * fixture's meta, a library call).
 */
import { ParamError } from '../errors.js';
import { MAX_ECHO_CHARS, clip, showJson } from '../text/escape.js';

/**
 * Largest integer any int setting or param may take unless its domain says less: array
 * lengths, offsets and the WASM kernels' arguments are 32-bit signed, and numbers beyond 2^53
 * would be rounded silently when parsed.
 */
export const INT_LIMIT = 2 ** 31 - 1;

/** Longest value echoed back in a message (a 9,900-digit number is not repeated in full). */
export const MAX_ECHO = MAX_ECHO_CHARS;

export type DomainKind = 'int' | 'float' | 'enum' | 'bool' | 'string';

/** What values a setting or param may take. */
export interface Domain {
  kind: DomainKind;
  /** Allowed values of an `enum`. */
  choices?: readonly string[];
  /** Smallest allowed number (inclusive unless `minExclusive`). */
  min?: number;
  minExclusive?: boolean;
  /** Largest allowed number (inclusive; ints without one are capped at `cap`). */
  max?: number;
  /**
   * Ints without `max`: the largest value taken (default INT_LIMIT), named only when a value is
   * above it, with `capReason` (`an integer >= 1`, not `an integer in [1, 536870912]`).
   */
  cap?: number;
  /** Why the cap (default: the largest integer cnn-check takes). */
  capReason?: string;
}

/** The largest value an int domain takes: its max, else its cap, else INT_LIMIT. */
export function intCeiling(d: Domain): number {
  return d.max ?? d.cap ?? INT_LIMIT;
}

/** Human description of a domain: "an integer >= 1", "one of train, test". */
export function describeDomain(d: Domain): string {
  switch (d.kind) {
    case 'enum':
      return `one of ${(d.choices ?? []).join(', ')}`;
    case 'bool':
      return 'true or false';
    case 'string':
      return 'a non-empty string';
    default: {
      const what = d.kind === 'int' ? 'an integer' : 'a number';
      if (d.min !== undefined && d.max !== undefined) return `${what} in ${d.minExclusive ? '(' : '['}${d.min}, ${d.max}]`;
      if (d.min !== undefined) return `${what} ${d.minExclusive ? '>' : '>='} ${d.min}`;
      if (d.max !== undefined) return `${what} <= ${d.max}`;
      return what;
    }
  }
}

/**
 * A value as a message quotes it: strings in single quotes, escaped and clipped (text/escape.ts);
 * arrays and objects named by kind; numbers as written.
 */
export function shown(v: unknown): string {
  if (typeof v === 'string') return `'${clip(v, MAX_ECHO)}'`;
  if (v === undefined) return 'nothing';
  if (typeof v === 'object' && v !== null) return showJson(v, MAX_ECHO);
  return clip(String(v), MAX_ECHO);
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parse one value against `d`. `text`: the value came from a flag, so numbers and booleans are
 * parsed from text; otherwise (JSON) they must already have their type, so `"2"` is not 2.
 * Throws ParamError `label: expected <domain>, got <value>`.
 */
export function parseValue(d: Domain, raw: unknown, label: string, text: boolean): number | string | boolean {
  const fail = (): never => {
    throw new ParamError(`${label}: expected ${describeDomain(d)}, got ${shown(raw)}`);
  };
  switch (d.kind) {
    case 'enum':
      if (typeof raw !== 'string' || !(d.choices ?? []).includes(raw)) fail();
      return raw as string;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (text && (raw === 'true' || raw === 'false')) return raw === 'true';
      return fail();
    case 'string':
      if (typeof raw !== 'string' || raw.trim() === '') fail();
      return raw as string;
    default: {
      let v: number;
      if (typeof raw === 'number') v = raw;
      else if (text && typeof raw === 'string' && NUMBER_TEXT.test(raw.trim())) v = Number(raw.trim());
      else return fail();
      if (!Number.isFinite(v)) fail();
      if (d.kind === 'int' && !Number.isInteger(v)) fail();
      if (d.kind === 'int' && d.max === undefined && Math.abs(v) > intCeiling(d)) {
        throw new ParamError(
          `${label}: expected ${describeDomain(d)} and at most ${intCeiling(d)} (${d.capReason ?? 'the largest integer cnn-check takes'}), got ${shown(raw)}`,
        );
      }
      if (d.kind === 'int' && !Number.isSafeInteger(v)) fail();
      if (d.min !== undefined && (d.minExclusive ? v <= d.min : v < d.min)) fail();
      if (d.max !== undefined && v > d.max) fail();
      return v;
    }
  }
}
