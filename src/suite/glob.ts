/**
 * Path globs for suite fixture entries (`"fixture": "fixtures/*.npz"`): `*` and `?` within one
 * path segment, `[abc]` classes, `**` for any number of directories. Node 20 has no fs.glob.
 * Hidden names match only a segment that starts with `.`; `**` does not follow symbolic links
 * to directories (no loops). Results are sorted, so a suite's order is the same on every machine.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { FormatError } from '../errors.js';

/** Most paths one pattern may expand to: a suite of more checks than this is a mistake. */
export const MAX_GLOB_MATCHES = 10_000;

/** True when `pattern` has glob characters. */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** A regular expression for one segment pattern. */
function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * The paths `pattern` matches under `baseDir` (relative patterns), sorted; `pattern` itself when
 * it has no glob characters (whether it exists is for the reader to say). Throws FormatError
 * naming `label` when more than MAX_GLOB_MATCHES paths match.
 */
export function expandGlob(pattern: string, baseDir: string, label: string): string[] {
  const full = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  if (!isGlob(pattern)) return [full];
  const root = full.startsWith(sep) ? sep : '';
  const segments = full.split(sep).filter(Boolean);
  const out: string[] = [];
  const walk = (dir: string, k: number): void => {
    if (out.length > MAX_GLOB_MATCHES) return;
    if (k === segments.length) {
      out.push(dir);
      return;
    }
    const seg = segments[k];
    if (seg === '**') {
      walk(dir, k + 1);
      for (const name of entries(dir)) {
        const path = join(dir, name);
        if (name.startsWith('.')) continue;
        if (!lstatSync(path).isSymbolicLink() && isDirectory(path)) walk(path, k);
      }
      return;
    }
    if (!isGlob(seg)) {
      const path = join(dir, seg);
      if (k === segments.length - 1 || isDirectory(path)) walk(path, k + 1);
      return;
    }
    const re = segmentRegex(seg);
    for (const name of entries(dir)) {
      if (name.startsWith('.') && !seg.startsWith('.')) continue;
      if (!re.test(name)) continue;
      const path = join(dir, name);
      if (k === segments.length - 1) {
        out.push(path);
        if (out.length > MAX_GLOB_MATCHES) return;
      } else if (isDirectory(path)) walk(path, k + 1);
    }
  };
  walk(root || '.', 0);
  if (out.length > MAX_GLOB_MATCHES) throw new FormatError(`${label}: '${pattern}' matches more than ${MAX_GLOB_MATCHES} paths: expected a narrower pattern`);
  return [...new Set(out)].sort();
}
