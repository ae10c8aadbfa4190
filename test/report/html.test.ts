/**
 * The HTML report: one self-contained page (no script, no external asset), every text escaped,
 * heatmaps and charts as inline SVG; and, where a Chromium is installed, the page rendered in
 * headless Chromium: the DOM it builds has the tables, charts and heatmap cells, and the
 * screenshot shows the charts' and heatmap's colours. Skipped with a printed reason where no
 * browser exists.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { conv, convBackwardNaive } from '../../src/layers/conv.js';
import type { LayerSpec } from '../../src/layers/types.js';
import { zeros, type Tensor } from '../../src/tensor/tensor.js';
import { checkLayer, type LayerCheckReport } from '../../src/gradcheck/check-layer.js';
import { parseSuite, type LayerSuiteCheck } from '../../src/suite/schema.js';
import { runSuite } from '../../src/suite/run.js';
import { loadMembers } from '../../src/fixtures/load.js';
import { parseFixture } from '../../src/fixtures/contract.js';
import { compareFixture } from '../../src/fixtures/compare.js';
import { getLayer } from '../../src/layers/registry.js';
import { runBench } from '../../src/bench/run.js';
import { HEATMAP_MAX_CELLS, barChart, esc, heatColor, heatmapSvg, renderHtmlReport } from '../../src/report/html.js';
import type { RunReport } from '../../src/report/model.js';
import { runOf } from '../helpers/report.js';
import { type Browser, launchChromium } from '../helpers/chromium.js';

interface ConvCache {
  x: Tensor;
  w: Tensor;
  geom: { N: number; C: number; H: number; W: number; F: number; HH: number; WW: number; stride: number; pad: number; Hout: number; Wout: number };
}

/** conv whose dx is cropped from the padded gradient without the pad offset (hint padding-offset, an aligned map). */
const cropWithoutOffset: LayerSpec = {
  ...conv,
  impls: {
    ...conv.impls,
    naive: {
      forward: conv.impls.naive.forward,
      backward: (dout, cache) => {
        const { x, w, geom } = cache as ConvCache;
        const { N, C, H, W, F, HH, WW, stride, pad, Hout, Wout } = geom;
        const Hp = H + 2 * pad;
        const Wp = W + 2 * pad;
        const dxpad = new Float64Array(N * C * Hp * Wp);
        for (let n = 0; n < N; n++)
          for (let f = 0; f < F; f++)
            for (let i = 0; i < Hout; i++)
              for (let j = 0; j < Wout; j++) {
                const g = dout.data[((n * F + f) * Hout + i) * Wout + j];
                for (let c = 0; c < C; c++)
                  for (let di = 0; di < HH; di++)
                    for (let dj = 0; dj < WW; dj++) {
                      dxpad[((n * C + c) * Hp + i * stride + di) * Wp + j * stride + dj] += g * w.data[((f * C + c) * HH + di) * WW + dj];
                    }
              }
        const dx = zeros(x.shape);
        for (let n = 0; n < N; n++)
          for (let c = 0; c < C; c++)
            for (let h = 0; h < H; h++)
              for (let ww = 0; ww < W; ww++) {
                dx.data[((n * C + c) * H + h) * W + ww] = dxpad[((n * C + c) * Hp + h) * Wp + ww];
              }
        return { ...convBackwardNaive(dout, cache), dx };
      },
    },
  },
};

const failing: LayerCheckReport = checkLayer(cropWithoutOffset, {
  params: { stride: 1, pad: 1 },
  shapes: { x: [2, 3, 8, 8], w: [4, 3, 3, 3] },
  repeat: 2,
  impls: ['naive'],
});
const failingDx = failing.gradients.find((g) => g.name === 'dx')!;

function layerPage(name: string, report: LayerCheckReport): string {
  return renderHtmlReport(runOf([{ name, report, seconds: 0.5 }], { title: `cnn-check ${name}`, meta: ['generated in a test'] }));
}

const count = (s: string, needle: string | RegExp) =>
  typeof needle === 'string' ? s.split(needle).length - 1 : (s.match(new RegExp(needle, 'g')) ?? []).length;

describe('renderHtmlReport', () => {
  it('the planted mistake fails with a heatmap and an aligned heatmap', () => {
    expect(failing.pass).toBe(false);
    expect(failingDx.pass).toBe(false);
    expect(failingDx.localization?.hint?.kind).toBe('padding-offset');
    expect(failingDx.localization?.heatmap?.values).toHaveLength(8);
    expect(failingDx.localization?.heatmap?.aligned).toHaveLength(8);
  });

  it('is self-contained: no script, no external resource, a CSP that forbids fetching', () => {
    const html = layerPage('conv', failing);
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
    expect(html).not.toMatch(/<script|<link|<img|<iframe|<object|<embed|@import|url\(|\ssrc=|\shref="(?!#)/i);
    expect(html).not.toMatch(/https?:|\/\//);
    expect(count(html, '<style>')).toBe(1);
  });

  it('has the gradient table, the error chart, both heatmaps and the timing chart', () => {
    const html = layerPage('conv', failing);
    const table = html.slice(html.indexOf('<table class="gradients">'), html.indexOf('</table>', html.indexOf('<table class="gradients">')));
    expect(count(table, '<tr')).toBe(1 + failing.gradients.length);
    expect(count(table, '<tr class="fail">')).toBe(failing.gradients.filter((g) => !g.pass).length);
    expect(count(html, '<svg class="heatmap"')).toBe(2);
    // 8 x 8 cells per map, the worst slice's: every element of a full check was evaluated.
    expect(count(html, '<rect class="cell"')).toBe(2 * 64);
    expect(count(html, '<svg class="chart errors"')).toBe(1);
    expect(count(html, '<svg class="chart timing"')).toBe(1);
    expect(html).toContain('as when dx is cropped from the padded gradient without the pad offset');
    expect(html).toContain('timing (median of 2 runs)');
  });

  it('escapes every text it shows', () => {
    const evil = '<img src=x onerror="alert(1)"> & \'q\'';
    const report: LayerCheckReport = { ...failing, problems: [evil], notes: [evil] };
    const html = renderHtmlReport({
      ...runOf([{ name: evil, report }], { title: evil, pass: false, meta: [evil], summary: true }),
      checks: { title: evil, items: [{ name: evil, report }], summary: true },
    });
    expect(html).not.toContain('<img');
    expect(html).not.toContain('"alert');
    expect(count(html, esc(evil))).toBeGreaterThanOrEqual(6);
    expect(esc(evil)).toBe('&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;q&#39;');
  });

  it('a heatmap larger than HEATMAP_MAX_CELLS is max-pooled; unevaluated cells are marked', () => {
    const values = Array.from({ length: 100 }, (_, i) => Array.from({ length: 100 }, (_, j) => (i === 99 && j === 99 ? 5 : i < 2 ? null : 1)));
    const svg = heatmapSvg(values, { title: 't' });
    const block = Math.ceil(100 / HEATMAP_MAX_CELLS);
    expect(block).toBe(2);
    expect(count(svg, /<rect class="cell[ "]/)).toBe(50 * 50);
    expect(count(svg, '<rect class="cell missing"')).toBe(50); // rows 0 and 1 pool into the first row
    expect(svg).toContain(`fill="${heatColor(1)}"><title>(h 98-99, w 98-99, largest): |error| 5.00e+0</title>`);
    expect(svg).toContain('2x2 max-pooled');
  });

  it('heat colours run from near-white to dark red', () => {
    expect(heatColor(0)).toBe('#fff7ec');
    expect(heatColor(1)).toBe('#67000d');
    expect(heatColor(2)).toBe('#67000d');
  });

  it('bar charts: log scale over a wide range, infinite values drawn full width', () => {
    const lin = barChart({
      title: 't',
      unit: 's',
      bars: [
        { label: 'a', value: 1 },
        { label: 'b', value: 2 },
      ],
    });
    expect(lin).not.toContain('log scale');
    expect(lin).toContain('width="440.0"'); // the largest bar spans the plot
    expect(lin).toContain('width="220.0"');
    const log = barChart({
      title: 't',
      unit: 'ms',
      bars: [
        { label: 'a', value: 0.01 },
        { label: 'b', value: 100 },
        { label: 'c', value: Infinity },
      ],
    });
    expect(log).toContain('log scale');
    expect(count(log, '<rect class="bar')).toBe(3);
    expect(log).toContain('<rect class="bar inf"');
    for (const e of [-2, -1, 0, 1, 2]) expect(log).toContain(`>1e${e}</text>`);
  });
});

// ---------------------------------------------------------------------------------------------
// Headless Chromium

const BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

function findBrowser(): { path?: string; reason: string } {
  for (const path of BROWSERS) {
    const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (!r.error && r.status === 0) return { path, reason: r.stdout.trim() };
  }
  return { reason: `no Chromium found (tried ${BROWSERS.join(', ')}); install Debian's chromium package to run them` };
}

const browser = findBrowser();
if (!browser.path) console.log(`skipping the headless Chromium rendering tests: ${browser.reason}`);

/** Decode an 8-bit RGB or RGBA PNG (what Chromium writes) into width, height and RGBA pixels. */
function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let pos = 8;
  let width = 0,
    height = 0,
    colorType = 0;
  const idat: Buffer[] = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('latin1', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8); // bit depth
      colorType = data[9];
      expect(data[12]).toBe(0); // not interlaced
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  expect([2, 6]).toContain(colorType);
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = new Uint8Array(width * height * bpp);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= bpp ? out[y * stride + x - bpp] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? out[(y - 1) * stride + x - bpp] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a),
          pb = Math.abs(p - b),
          pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[4 * i] = out[bpp * i];
    rgba[4 * i + 1] = out[bpp * i + 1];
    rgba[4 * i + 2] = out[bpp * i + 2];
    rgba[4 * i + 3] = bpp === 4 ? out[bpp * i + 3] : 255;
  }
  return { width, height, rgba };
}

/** Pixels of exactly this colour (`#rrggbb`). */
function pixelsOf(img: { rgba: Uint8Array }, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) if (img.rgba[i] === r && img.rgba[i + 1] === g && img.rgba[i + 2] === b) n++;
  return n;
}

describe.skipIf(!browser.path)(`the report in headless Chromium (${browser.reason})`, { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'cnn-check-html-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // One browser for both tests, a tab each (chromium.ts): the DOM it builds is
  // what --dump-dom printed, and the screenshot at a 1280 x 6000 viewport is the one
  // --screenshot --window-size=1280,6000 wrote, pixel for pixel.
  let chromium: Browser | undefined;
  afterAll(() => chromium?.close());
  function open(): Browser {
    chromium ??= launchChromium(browser.path!, [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--hide-scrollbars',
      `--user-data-dir=${mkdtempSync(join(dir, 'profile-'))}`,
    ]);
    return chromium;
  }

  // A suite with a failing check, a compare of the committed good fixtures and a small benchmark: every section.
  const checks = parseSuite(
    JSON.stringify([
      { layer: 'relu' },
      { layer: 'maxpool', repeat: 2 },
      { name: 'conv, dx cropped without the pad offset', layer: 'conv', shapes: { x: [2, 3, 8, 8], w: [4, 3, 3, 3] }, impls: ['naive'], repeat: 2 },
    ]),
    'suite.json',
  );
  const third = checks[2] as LayerSuiteCheck;
  checks[2] = { ...third, request: { ...third.request, spec: cropWithoutOffset } };
  const suite = runSuite(checks, 'suite.json');
  const fixturesDir = new URL('../../fixtures/good/', import.meta.url).pathname;
  const fixtures = ['conv_s2_p1.npz', 'maxpool_2x2_s2.npz'].map((f) => compareFixture(parseFixture(join(fixturesDir, f), loadMembers(join(fixturesDir, f)))));
  const bench = runBench([{ layer: getLayer('relu'), shapes: { x: [2, 3, 4] }, params: {} }], {
    dtypes: ['float64'],
    impls: ['naive', 'fast'],
    threads: 1,
    warmup: 0,
    repeat: 2,
    naiveBudgetSec: Infinity,
  });
  const page: RunReport = {
    title: 'cnn-check report under test',
    runName: 'test',
    pass: false,
    meta: ['generated in a test'],
    checks: { title: 'checks', items: suite.checks.map((c) => ({ name: c.name, report: c.report!, seconds: c.seconds })), summary: true },
    fixtures: { title: 'fixtures', items: fixtures, invalid: [{ path: 'bad.npz', pass: false, error: 'bad.npz: not a zip archive' }] },
    bench: { title: 'benchmark', report: bench },
  };
  const file = join(dir, 'report.html');
  writeFileSync(file, renderHtmlReport(page));
  const loc = suite.checks[2].report!.gradients.find((g) => g.name === 'dx')!.localization!;

  it('the fixtures of this test are what it expects', () => {
    expect(suite.checks.map((c) => c.pass)).toEqual([true, true, false]);
    expect(fixtures.every((f) => f.pass)).toBe(true);
    expect(loc.heatmap?.aligned).toBeDefined();
  });

  it('renders the tables, charts and heatmap cells into the DOM', async () => {
    // As --dump-dom serializes it: the doctype, then the document element.
    const dom = await open().withPage(`file://${file}`, (tab) =>
      tab.evaluate<string>("(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + '\\n' : '') + document.documentElement.outerHTML"),
    );
    const tableRows = (cls: string) => {
      const start = dom.indexOf(`<table class="${cls}">`);
      expect(start, `table.${cls}`).toBeGreaterThanOrEqual(0);
      return count(dom.slice(start, dom.indexOf('</table>', start)), '<tr');
    };
    expect(tableRows('summary')).toBe(1 + 3);
    expect(count(dom, '<table class="gradients">')).toBe(3);
    expect(count(dom, '<table class="arrays">')).toBe(2);
    expect(tableRows('bench')).toBe(1 + 2);
    expect(count(dom, '<table class="timing">')).toBe(2); // maxpool and the broken conv ran with repeat 2
    // Charts: suite time per check, per-check timing (2), error charts (3 checks + 2 fixtures), bench timing.
    expect(count(dom, '<svg class="chart timing"')).toBe(1 + 2 + 1);
    expect(count(dom, '<svg class="chart errors"')).toBe(3 + 2);
    // Bars: 3 checks; timing of maxpool (naive, fast) and the conv (naive), forward and backward; one per
    // gradient row (relu 2, maxpool 2, conv 3) and per fixture array; relu's bench rows forward and backward.
    expect(suite.checks.map((c) => c.report!.gradients.length)).toEqual([2, 2, 3]);
    expect(fixtures.map((f) => f.arrays.length)).toEqual([4, 2]);
    expect(count(dom, /<rect class="bar[ "]/)).toBe(3 + (2 * 2 + 2) + (2 + 2 + 3) + (4 + 2) + 2 * 2);
    // The failing conv: its heatmap and the aligned one, 8 x 8 cells each, all evaluated.
    expect(count(dom, '<svg class="heatmap"')).toBe(2);
    expect(count(dom, '<rect class="cell"')).toBe(128);
    expect(count(dom, '<details class="check" open="">')).toBe(1);
    expect(dom).toContain('hint: away from the border, analytic dx');
    expect(dom).not.toContain('<script');
  });

  it("paints them: the screenshot has the bars, the failing bars and the heatmap's hottest cell", async () => {
    const png = await open().withPage(`file://${file}`, async (tab) => {
      await tab.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 6000, deviceScaleFactor: 1, mobile: false });
      return Buffer.from((await tab.send('Page.captureScreenshot', { format: 'png' })).data as string, 'base64');
    });
    const img = decodePng(png);
    expect([img.width, img.height]).toEqual([1280, 6000]);
    expect(pixelsOf(img, '#0969da')).toBeGreaterThan(500); // bars
    expect(pixelsOf(img, '#cf222e')).toBeGreaterThan(500); // failing bars, FAIL badges
    expect(pixelsOf(img, heatColor(1))).toBeGreaterThan(20); // the hottest heatmap cell
    expect(pixelsOf(img, '#ffffff')).toBeLessThan(img.width * img.height * 0.97);
  });
});
