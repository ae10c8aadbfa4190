/** The JSON format: a command's document, valid JSON even where numbers are not finite. */

/** JSON has no Infinity/NaN: write them as the strings "Infinity"/"NaN" so the document stays valid. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

/** A command's `--json` document, indented, with a final newline. */
export function renderJson(doc: unknown): string {
  return `${JSON.stringify(doc, jsonReplacer, 2)}\n`;
}
