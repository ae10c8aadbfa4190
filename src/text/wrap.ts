/**
 * Text laid out for a terminal: visible widths (colour codes left out) and wrapping on spaces.
 * Light on purpose: the help and the start of the CLI use it without loading the renderers.
 */

/** Strip ANSI colour codes: what the eye sees. */
// eslint-disable-next-line no-control-regex
export const ANSI = /\u001b\[[0-9;]*m/g;
/** The visible width of `s` (its longest line, colour codes left out). */
export function visibleWidth(s: string): number {
  let w = 0;
  for (const line of s.split('\n')) w = Math.max(w, [...line.replace(ANSI, '')].length);
  return w;
}

/**
 * `text` wrapped at `width` columns on spaces, every line but the first of a paragraph indented
 * by `indent`; a word longer than a line is cut. Colour codes do not count.
 */
export function wrapText(text: string, width: number, indent = ''): string {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    // Words and the runs of spaces between them, kept as written (`x 4,3  w 2,3` keeps its two spaces).
    const parts = paragraph.split(/( +)/);
    let line = parts[0] === '' && parts.length > 1 ? parts[1] : '';
    let fresh = true;
    for (let k = parts[0] === '' && parts.length > 1 ? 2 : 0; k < parts.length; k += 2) {
      let word = parts[k];
      const gap = k > 0 ? parts[k - 1] : '';
      if (word === '') continue;
      const candidate = fresh ? line + word : line + gap + word;
      if (visibleWidth(candidate) <= width) {
        line = candidate;
        fresh = false;
        continue;
      }
      if (!fresh) {
        out.push(line);
        line = indent;
        fresh = true;
      }
      // A plain word wider than a whole line is cut into line-sized pieces.
      while (visibleWidth(line + word) > width && !word.includes('\u001b') && word.length > 1 && width - visibleWidth(line) > 0) {
        const room = width - visibleWidth(line);
        out.push(line + word.slice(0, room));
        word = word.slice(room);
        line = indent;
      }
      line += word;
      fresh = false;
    }
    out.push(line);
  }
  return out.join('\n');
}
