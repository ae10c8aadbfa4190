/**
 * Where a module defines its functions, by line, so that annotations of `grade` point at the
 * function that failed: `def conv_backward_naive(` in Python, `function conv_backward_naive(`,
 * `export const conv_backward_naive =` in JS/TS. Read once, bounded; a module that cannot be read
 * has no lines (annotations then point at the file).
 */
import { readTextFile } from '../fs/read.js';

/** Largest module read for its lines. */
const MAX_MODULE_BYTES = 4 * 1024 * 1024;

/** The 1-based line of each top-level function definition in the module at `path`. */
export function definitionLines(path: string): Record<string, number> {
  let text: string;
  try {
    text = readTextFile(path, { label: path, expected: 'a module file', maxBytes: MAX_MODULE_BYTES });
  } catch {
    return {};
  }
  const lines: Record<string, number> = {};
  const defs = [
    /^def\s+([A-Za-z_]\w*)\s*\(/,
    /^(?:export\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)\s*\(/,
    /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=/,
  ];
  text.split('\n').forEach((line, k) => {
    for (const re of defs) {
      const m = re.exec(line);
      if (m && lines[m[1]] === undefined) lines[m[1]] = k + 1;
    }
  });
  return lines;
}
