/**
 * Untrusted text made safe to show. File names, npz member names, npy header strings, meta
 * strings and paths reach a terminal, a CI log and one-line error messages; a raw control
 * character there is an attack (`\x1b[2J` clears the screen, a line break followed by
 * `::warning::` is a GitHub Actions command) or at least breaks the one-line rule. Every
 * untrusted string goes through `escapeText` (or `excerpt`/`clip`, which use it) on its way to
 * the terminal or stderr; JSON output escapes by construction, HTML and JUnit by their own
 * escapers.
 *
 * Excerpts are short on purpose: a message may quote a few characters of a file to say what
 * was found, but a file read by mistake (a secrets file behind a symlink) must not be echoed.
 */

/**
 * Longest excerpt of a file's contents quoted in a message, in characters: enough to recognise
 * what was found (`'PK\x03\x04'`, `'<html>'`), too short to carry a whole secret line out of a
 * file read by mistake.
 */
export const MAX_EXCERPT_CHARS = 16;

/**
 * Longest echo of a user-given value (a flag's value, a path, a dimension, a name) in a
 * message: a few dozen characters say which value is meant; a 10,000-digit dimension echoed
 * whole makes a 10 KB "one-line" message.
 */
export const MAX_ECHO_CHARS = 60;

// C0 controls, DEL, C1 controls (0x9b is a one-byte CSI on some terminals), the bidirectional
// overrides and isolates (they reorder what follows: "Trojan Source"), the line and paragraph
// separators, and lone surrogates (not printable, and not valid UTF-8 on the way out).
// eslint-disable-next-line no-control-regex
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const short = SHORT[ch];
  if (short) return short;
  const cp = ch.charCodeAt(0);
  return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every character that could act on a terminal or a log written as an escape:
 * `\n`, `\r`, `\t`, `\xNN` for the other C0 and C1 controls and DEL, `\uNNNN` for bidi
 * controls, line separators and lone surrogates. Printable text (any script, backslashes
 * included) is unchanged, so escaping twice changes nothing more.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * `text` cut to `max` characters, escaped, with how long it was when cut:
 * `99999999...(9900 characters)`. For echoing user-given values in messages.
 */
export function clip(text: string, max = MAX_ECHO_CHARS): string {
  if (text.length <= max) return escapeText(text);
  return `${escapeText(text.slice(0, max))}...(${text.length} characters)`;
}

/** A short quoted excerpt of untrusted text: `'abc...'`, escaped, at most `max` characters of it. */
export function excerpt(text: string, max = MAX_EXCERPT_CHARS): string {
  return `'${escapeText(text.slice(0, max))}${text.length > max ? '...' : ''}'`;
}

/** A short quoted excerpt of untrusted bytes: printable ASCII as is, anything else as `\xNN`. */
export function excerptBytes(bytes: Uint8Array, max = MAX_EXCERPT_CHARS): string {
  let s = '';
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    s += b >= 0x20 && b < 0x7f && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `'${s}${bytes.length > max ? '...' : ''}'`;
}

type Frame =
  | { kind: 'value'; v: unknown }
  | { kind: 'array'; a: unknown[]; i: number }
  | { kind: 'object'; o: Record<string, unknown>; keys: string[]; i: number };

/**
 * A parsed JSON value as compact JSON (`{"a":[1,2]}`), cut at `max` characters with `...`.
 * NOTE: iterative and bounded, unlike JSON.stringify, which recurses (a value nested 5000 deep
 * overflows the stack) and renders all of a huge value before it could be cut.
 */
export function showJson(value: unknown, max = MAX_ECHO_CHARS): string {
  let out = '';
  const stack: Frame[] = [{ kind: 'value', v: value }];
  while (stack.length && out.length <= max) {
    const f = stack[stack.length - 1];
    if (f.kind === 'array') {
      if (f.i < f.a.length) {
        if (f.i > 0) out += ',';
        stack.push({ kind: 'value', v: f.a[f.i++] });
      } else {
        out += ']';
        stack.pop();
      }
      continue;
    }
    if (f.kind === 'object') {
      if (f.i < f.keys.length) {
        const k = f.keys[f.i++];
        out += `${f.i > 1 ? ',' : ''}${JSON.stringify(k.length > max ? k.slice(0, max) : k)}:`;
        stack.push({ kind: 'value', v: f.o[k] });
      } else {
        out += '}';
        stack.pop();
      }
      continue;
    }
    stack.pop();
    const v = f.v;
    if (Array.isArray(v)) {
      out += '[';
      stack.push({ kind: 'array', a: v, i: 0 });
    } else if (typeof v === 'object' && v !== null) {
      out += '{';
      stack.push({ kind: 'object', o: v as Record<string, unknown>, keys: Object.keys(v), i: 0 });
    } else if (typeof v === 'string') {
      out += JSON.stringify(v.length > max ? v.slice(0, max) : v);
    } else if (typeof v === 'number') {
      out += Number.isFinite(v) ? String(v) : 'null';
    } else if (typeof v === 'boolean' || v === null) {
      out += String(v);
    } else {
      out += v === undefined ? 'null' : typeof v;
    }
  }
  const text = escapeText(out);
  return text.length > max || stack.length ? `${text.slice(0, Math.max(0, max - 3))}...` : text;
}
