/**
 * The HTML report's layout at 1200 px in headless Chromium, where it is installed (set CHROME to
 * a binary elsewhere): no two pieces of text overlap, and nothing is wider than the page. Every
 * report kind is rendered by the CLI; the boxes come from the browser itself (a script in a copy
 * of each page measures every text node and SVG text, and --dump-dom returns its findings). The
 * layout is checked, not pixels. A page with overlapping text is checked first, so the
 * measurement is known to see an overlap when there is one. One browser serves the file, a tab
 * per page (chromium.ts), with the window a one-shot `chromium --dump-dom` had.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { barChart } from '../../src/report/html.js';
import { run } from '../helpers/io.js';
import { type Browser, launchChromium } from '../helpers/chromium.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function findChrome(): string | undefined {
  const candidates = [process.env.CHROME, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  return candidates.find((c) => c && existsSync(c));
}
const chrome = findChrome();

const dir = mkdtempSync(join(tmpdir(), 'cnn-check-layout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Page width of the screenshots, px. */
const WIDTH = 1200;
/** Overlap below this, px on either axis, is anti-aliasing and line boxes touching, not text over text. */
const SLACK = 1;

interface Box {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
}
interface Layout {
  boxes: Box[];
  scrollWidth: number;
}

/** In the page: every rendered piece of text with its box, and the page's scroll width. */
const MEASURE = `
<script>
addEventListener('load', () => {
  const boxes = [];
  // The body of a closed <details> is not shown (Chromium still gives its text boxes).
  const hidden = (el) => { const d = el.closest('details'); return d !== null && !d.open && !el.closest('summary'); };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim() || n.parentElement.closest('svg, script, title') || hidden(n.parentElement)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) if (r.width > 0 && r.height > 0) boxes.push({ text: n.textContent.trim().slice(0, 40), x: r.x, y: r.y + scrollY, w: r.width, h: r.height });
  }
  for (const t of document.querySelectorAll('svg text')) {
    if (hidden(t)) continue;
    const r = t.getBoundingClientRect();
    const text = [...t.childNodes].filter((c) => c.nodeType === 3).map((c) => c.textContent).join('').trim();
    if (text && r.width > 0) boxes.push({ text: text.slice(0, 40), x: r.x, y: r.y + scrollY, w: r.width, h: r.height });
  }
  const out = document.createElement('pre');
  out.id = 'layout';
  out.textContent = JSON.stringify({ boxes, scrollWidth: document.documentElement.scrollWidth });
  document.body.replaceChildren(out);
});
</script>`;

let browser: Browser | undefined;
afterAll(() => browser?.close());

async function layout(html: string, name: string): Promise<Layout> {
  const page = join(dir, `${name}.html`);
  // The report forbids scripts (its Content-Security-Policy); the measured copy lifts that.
  writeFileSync(page, html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '').replace('</body>', `${MEASURE}</body>`));
  browser ??= launchChromium(chrome!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--window-size=${WIDTH},1000`]);
  // MEASURE runs on the page's load event and leaves its findings in <pre id="layout">.
  const found = await browser.withPage(`file://${page}`, (tab) =>
    tab.evaluate<string | null>(`new Promise((resolve) => {
      const poll = (left) => { const e = document.getElementById('layout'); if (e || left === 0) resolve(e && e.textContent); else setTimeout(() => poll(left - 1), 10); };
      poll(500);
    })`),
  );
  if (found === null) throw new Error(`no layout from ${chrome} for ${page}`);
  return JSON.parse(found);
}

/** Pairs of boxes whose intersection is more than SLACK on both axes. */
function overlaps(boxes: Box[]): string[] {
  const found: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      const ox = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const oy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (ox > SLACK && oy > SLACK) found.push(`'${a.text}' and '${b.text}' (${ox.toFixed(1)} x ${oy.toFixed(1)} px)`);
    }
  }
  return found;
}

async function report(name: string, argv: string[]): Promise<string> {
  const path = join(dir, `${name}-report.html`);
  const r = await run([...argv, '--report', path]);
  expect(r.code, r.stderr).toBeLessThan(2);
  return readFileSync(path, 'utf8');
}

describe.skipIf(!chrome)('the HTML report at 1200 px in headless Chromium', () => {
  it('sees overlapping text when there is some (the measurement itself)', async () => {
    const html =
      '<!doctype html><html><body><p style="position:relative">first line<span style="position:absolute;left:10px;top:0">over it</span></p>' +
      '<svg width="300" height="40"><text x="10" y="20">1e-12</text><text x="20" y="20">1e-11</text></svg></body></html>';
    const found = overlaps((await layout(html, 'control')).boxes);
    expect(found.some((f) => f.includes("'first line' and 'over it'"))).toBe(true);
    expect(found.some((f) => f.includes("'1e-12' and '1e-11'"))).toBe(true);
  });

  it('a log axis over 16 decades: labels on every other decade or fewer, none overlapping', async () => {
    const bars = [1e-16, 3e-9, 1e-3, 1].map((v, i) => ({ label: `gradient ${i}`, value: v, marker: 1e-7 }));
    const svg = barChart({ title: 'relative error', unit: 'relative error', bars });
    const labels = [...svg.matchAll(/>(1e-?\d+)<\/text>/g)].map((m) => m[1]);
    expect(labels[0]).toBe('1e-16');
    expect(labels).toContain('1e0');
    expect(labels.length).toBeLessThan(17);
    const l = await layout(
      `<!doctype html><html><head><style>svg text { font: 11px system-ui, sans-serif; }</style></head><body>${svg}</body></html>`,
      'decades',
    );
    expect(overlaps(l.boxes)).toEqual([]);
  });

  const reports: [string, string[]][] = [
    ['a passing layer check', ['conv', '--stride', '2', '--pad', '1', '--repeat', '1']],
    ['a failing module: localization, heatmaps, hints', ['conv', '--impl', join(root, 'test/impls/fixtures/conv-db-averaged.mjs'), '--repeat', '1']],
    [
      'fixtures compared',
      ['compare', join(root, 'fixtures/good/conv_s1_p1.npz'), join(root, 'fixtures/good/batchnorm_train.npz'), join(root, 'fixtures/good/maxpool_ties.npz')],
    ],
    ['a benchmark', ['bench', 'conv', 'relu', '--x-shape', '2,3,6,6', '--repeat', '1', '--warmup', '0', '--threads', '1']],
  ];
  for (const [what, argv] of reports) {
    it(`${what}: no text over text, nothing wider than the page`, async () => {
      const l = await layout(await report(what.replace(/\W+/g, '-'), argv), what.replace(/\W+/g, '-'));
      expect(l.boxes.length).toBeGreaterThan(10);
      expect(overlaps(l.boxes)).toEqual([]);
      expect(l.scrollWidth).toBeLessThanOrEqual(WIDTH);
    });
  }

  it('a suite with long check names, a failure and a fixture: no text over text', async () => {
    const suite = join(dir, 'suite.json');
    writeFileSync(
      suite,
      JSON.stringify([
        { name: 'a convolution with a long descriptive name that goes on and on, stride two', layer: 'conv', params: { stride: 2 } },
        { layer: 'batchnorm', h: 0.5, impls: ['naive'] },
        { layer: 'maxpool' },
        { fixture: join(root, 'fixtures', 'good', 'relu.npz') },
      ]),
    );
    const l = await layout(await report('suite', ['suite', suite]), 'suite');
    expect(overlaps(l.boxes)).toEqual([]);
    expect(l.scrollWidth).toBeLessThanOrEqual(WIDTH);
  });

  it('the title is said once: a single check has no heading of its own, and its meta line does not repeat it', async () => {
    const html = await report('title', ['conv', '--stride', '2', '--pad', '1', '--repeat', '0']);
    const text = html
      .replace(/<style>[\s\S]*?<\/style>/, '')
      .replace(/<title>[\s\S]*?<\/title>/g, '')
      .replace(/<[^>]+>/g, ' ');
    expect(text.match(/conv stride=2 pad=1/g)).toHaveLength(1);
  });
});
