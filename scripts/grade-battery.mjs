#!/usr/bin/env node
// Print the battery of `cnn-check grade` (src/grade/battery.ts, through dist/) as the Markdown
// tables of docs/grade.md, one per layer: `node scripts/grade-battery.mjs` after `npm run build`,
// then paste it between the battery markers of docs/grade.md. test/grade/battery.test.ts fails
// while a case of the battery is missing from the page.
import { BATTERY } from '../dist/grade/battery.js';
import { fillText } from '../dist/grade/inputs.js';
import { getLayer } from '../dist/layers/registry.js';

const shape = (s) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;
const out = [];
for (const b of BATTERY) {
  const spec = getLayer(b.layer);
  out.push(
    `### ${b.layer}`,
    '',
    `Timed at ${Object.entries(b.timing.shapes)
      .map(([k, s]) => `${k} ${shape(s)}`)
      .join(', ')}.`,
    '',
  );
  out.push('| case | shapes and params | arrays (after `np.random.seed`) | why |', '|---|---|---|---|');
  for (const c of b.cases) {
    const shapes = Object.entries(c.shapes)
      .map(([k, s]) => `${k} ${shape(s)}`)
      .join(', ');
    const params = Object.entries(c.params ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const extra = [
      c.perChannel ? `gamma, beta ${c.perChannel === 'C' ? '(C,)' : '(1, C, 1, 1)'}` : '',
      c.dtype ?? '',
      c.trainSteps ? `${c.trainSteps} train passes first` : '',
      c.mode ? `${c.mode} check` : '',
    ].filter(Boolean);
    const fills = [...spec.inputs.map((i) => i.name), 'dout'].filter((n) => c.fill?.[n]).map((n) => `${n} ${fillText(c.fill[n])}`);
    const arrays = `seed ${c.seed ?? 231}${fills.length ? `: ${fills.join(', ')}` : ''}`;
    const tags = [c.quick ? '**quick**' : '', c.notebook ? `notebook: ${c.notebook}` : ''].filter(Boolean).join('; ');
    out.push(`| \`${c.name}\` | ${[shapes, params, ...extra].filter(Boolean).join('; ')} | ${arrays} | ${c.about}${tags ? ` (${tags})` : ''} |`);
  }
  out.push('');
}
process.stdout.write(out.join('\n'));
