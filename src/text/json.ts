/**
 * Parsing JSON from files cnn-check does not control (a fixture's meta, a suite file, a bench
 * baseline). JSON.parse itself copes with any nesting, but everything that walks the parsed
 * value recursively does not: JSON.stringify in a message or a report, structuredClone, a
 * validator. A meta field nested 5000 deep ended the process with "Maximum call stack size
 * exceeded" (exit 3), and in a `compare` batch took every other fixture's result with it. So
 * the nesting depth is checked before parsing, by a scan that does not recurse, and a syntax
 * error is reported without V8's echo of the text (which quotes the file's first characters).
 */
import { excerpt } from './escape.js';

/**
 * Deepest nesting of arrays and objects accepted in an untrusted JSON text. Honest files nest
 * a few levels: a meta 2 (`{"params": {...}}`), a suite 3 (`[{"shapes": {"x": [...]}}]`), a
 * bench report 4. 64 leaves ample room and keeps every recursive walk over the value far from
 * V8's stack limit (a few thousand frames).
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The offset at which `text` nests arrays and objects deeper than `maxDepth`, or -1. Brackets
 * inside strings do not count. Linear, no recursion; malformed text is left to JSON.parse.
 */
export function jsonDepthViolation(text: string, maxDepth = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return -1;
}

/**
 * Why JSON.parse refused `text`, in one line without the text V8 quotes (`Unexpected token 's',
 * "secret-tok"... is not valid JSON` becomes `Unexpected token 's'`), with a short escaped
 * excerpt where the position is known.
 */
export function jsonSyntaxReason(err: unknown, text: string): string {
  const raw = String((err as Error)?.message ?? err).replace(/\s+/g, ' ');
  // V8 appends `, "<the text>" is not valid JSON` or `, ..."<part>"... is not valid JSON`.
  const cut = raw.replace(/, (\.\.\.)?".*$/, '');
  const reason = cut.replace(/^Unexpected token '(.)'/u, (_m, ch: string) => `Unexpected token ${excerpt(ch)}`);
  const at = /at position (\d+)/.exec(reason);
  if (at) {
    const pos = Number(at[1]);
    return pos < text.length ? `${reason} (at ${excerpt(text.slice(pos))})` : reason;
  }
  return reason;
}

/**
 * Parse untrusted JSON text: nesting checked first (MAX_JSON_DEPTH), then JSON.parse. On
 * failure calls `fail` with a one-line reason (`nested deeper than 64 levels of arrays and
 * objects (at offset 70)`, `Unexpected end of JSON input`), which must throw.
 */
export function parseUntrustedJson(text: string, fail: (reason: string) => never, maxDepth = MAX_JSON_DEPTH): unknown {
  const deep = jsonDepthViolation(text, maxDepth);
  if (deep >= 0) fail(`nested deeper than ${maxDepth} levels of arrays and objects (at offset ${deep})`);
  try {
    return JSON.parse(text);
  } catch (err) {
    return fail(jsonSyntaxReason(err, text));
  }
}
