/**
 * JUnit XML: validated with a real XML parser (fast-xml-parser's validator), then read back to
 * check the structure CI reporters rely on and that failures carry the numbers.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { conv, convBackwardNaive } from '../../src/layers/conv.js';
import type { LayerSpec } from '../../src/layers/types.js';
import { checkLayer, type LayerCheckReport } from '../../src/gradcheck/check-layer.js';
import { renderJunit, xmlAttr, xmlSafe, xmlText } from '../../src/report/junit.js';
import type { ReportedCheck } from '../../src/report/model.js';
import { runOf } from '../helpers/report.js';
import { generateInputs, resolveShapes } from '../../src/layers/params.js';
import { XoshiroRng } from '../../src/tensor/rng.js';
import { renderHtmlReport } from '../../src/report/html.js';

/** conv whose naive backward averages db over N*Hout*Wout instead of summing. */
const dbAveraged: LayerSpec = {
  ...conv,
  impls: {
    ...conv.impls,
    naive: {
      forward: conv.impls.naive.forward,
      backward: (dout, cache) => {
        const g = convBackwardNaive(dout, cache);
        const [N, , Hout, Wout] = dout.shape;
        return { ...g, db: { data: g.db.data.map((v) => v / (N * Hout * Wout)), shape: g.db.shape } };
      },
    },
  },
};

const passing = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 0 });
const failing = checkLayer(dbAveraged, { params: { stride: 1, pad: 1 }, repeat: 0 });

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  htmlEntities: true,
  isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
});

interface Case {
  classname: string;
  name: string;
  failure?: { type: string; message: string; '#text': string };
}
interface Suite {
  name: string;
  tests: string;
  failures: string;
  errors: string;
  time: string;
  testcase: Case[];
  properties: { property: { name: string; value: string }[] };
  'system-out'?: string;
}

function parse(xml: string): { testsuites: { name: string; tests: string; failures: string; testsuite: Suite[] } } {
  expect(XMLValidator.validate(xml)).toBe(true);
  return parser.parse(xml);
}

describe('renderJunit', () => {
  it('is valid XML with one testsuite per check and one testcase per gradient', () => {
    const checks: ReportedCheck[] = [
      { name: 'conv (defaults)', report: passing, seconds: 0.125 },
      { name: 'conv db averaged', report: failing, seconds: 0.5 },
    ];
    const doc = parse(renderJunit(runOf(checks, { name: 'cnn-check suite s.json' })));
    expect(doc.testsuites).toMatchObject({ name: 'cnn-check suite s.json', tests: '12', failures: '1' });
    const [a, b] = doc.testsuites.testsuite;
    expect(a).toMatchObject({ name: 'conv (defaults)', tests: '6', failures: '0', errors: '0', time: '0.125' });
    expect(a.testcase.map((t) => t.name)).toEqual(['naive dx', 'naive dw', 'naive db', 'fast dx', 'fast dw', 'fast db']);
    expect(a.testcase.every((t) => t.classname === 'conv (defaults)' && t.failure === undefined)).toBe(true);
    expect(Object.fromEntries(a.properties.property.map((p) => [p.name, p.value]))).toEqual({
      layer: 'conv',
      params: 'stride=1 pad=1',
      shapes: 'x 4,3,5,5  w 2,3,3,3  b 2',
      dtype: 'float64',
      seed: '231',
      h: '1e-5',
      checkMode: 'auto',
      budget: '10',
    });
    expect(b).toMatchObject({ name: 'conv db averaged', tests: '6', failures: '1', time: '0.500' });
    const db = b.testcase.find((t) => t.name === 'naive db')!;
    expect(db.failure).toBeDefined();
    expect(b.testcase.filter((t) => t.failure).map((t) => t.name)).toEqual(['naive db']);
  });

  it('a failure carries the numbers: relative error, threshold, worst element, hint', () => {
    const row = failing.gradients.find((g) => g.impl === 'naive' && g.name === 'db')!;
    const doc = parse(renderJunit(runOf([{ name: 'c', report: failing }], { name: 'x' })));
    const f = doc.testsuites.testsuite[0].testcase.find((t) => t.name === 'naive db')!.failure!;
    expect(f.type).toBe('gradient');
    // N*Hout*Wout = 4*5*5 = 100: analytic = numeric / 100, so the relative error is 99/101.
    expect(row.relError).toBeCloseTo(99 / 101, 6);
    expect(f.message).toContain(`rel error ${(99 / 101).toExponential(2)} > threshold 1.00e-7`);
    expect(f.message).toMatch(/worst element \(\d\): analytic -?[\d.e-]+, numeric -?[\d.e-]+/);
    expect(f.message).toContain('hint: analytic db = numeric / 100');
    expect(f['#text']).toContain('relative error: 9.80e-1');
    expect(f['#text']).toContain('threshold: 1.00e-7');
    expect(f['#text']).toMatch(/element \(\d\): analytic .*, numeric .*, rel error 9\.80e-1/);
  });

  it('a check that fails as a whole gets a "problems" testcase', () => {
    const broken: LayerCheckReport = {
      ...passing,
      pass: false,
      gradients: [],
      problems: ['conv threw: out of memory', 'input x contains NaN at index (0, 0, 0, 0)'],
    };
    const doc = parse(renderJunit(runOf([{ name: 'bad', report: broken }], { name: 'x' })));
    const s = doc.testsuites.testsuite[0];
    expect(s).toMatchObject({ tests: '1', failures: '1' });
    expect(s.testcase[0]).toMatchObject({
      name: 'problems',
      failure: { type: 'problem', message: 'conv threw: out of memory; input x contains NaN at index (0, 0, 0, 0)' },
    });
  });

  it('any name or message gives well-formed XML that reads back to the same text', () => {
    const nasty = 'a <b> & "c" \'d\' ]]> \u0001\u0008 \ud800 e\tf\ng 🙂';
    const report: LayerCheckReport = { ...failing, notes: [nasty], problems: [nasty], pass: false };
    const xml = renderJunit(runOf([{ name: nasty, report }], { name: nasty }), { timestamp: '2025-01-31T12:00:00Z' });
    const doc = parse(xml);
    const expected = 'a <b> & "c" \'d\' ]]> \ufffd\ufffd \ufffd e\tf\ng 🙂';
    expect(doc.testsuites.name).toBe(expected);
    expect(doc.testsuites.testsuite[0].name).toBe(expected);
    expect(doc.testsuites.testsuite[0]['system-out']).toBe(`note: ${expected}`);
    expect(doc.testsuites.testsuite[0].testcase.find((t) => t.name === 'problems')!.failure!.message).toBe(expected);
    expect(xml).toContain('timestamp="2025-01-31T12:00:00Z"');
  });

  it('escaping helpers', () => {
    expect(xmlSafe('a\u0000b\uffffc\u{1f600}')).toBe('a\ufffdb\ufffdc\u{1f600}');
    expect(xmlText('<&>"')).toBe('&lt;&amp;&gt;"');
    expect(xmlAttr('<&>"\n\t')).toBe('&lt;&amp;&gt;&quot;&#10;&#9;');
  });

  it('the same data gives the same document (no clock, no host)', () => {
    const checks = [{ name: 'c', report: failing, seconds: 1 }];
    expect(renderJunit(runOf(checks, { name: 'x' }))).toBe(renderJunit(runOf(checks, { name: 'x' })));
  });

  it('a gradient that compared nothing (x at 1e150: x + h == x) is a skipped testcase with the reason, and the HTML report says unchecked', () => {
    const params = { stride: 1, pad: 1 };
    const inputs = generateInputs(conv, resolveShapes(conv, {}, params), new XoshiroRng(5));
    inputs.x.data.forEach((v, i) => {
      inputs.x.data[i] = v * 1e150;
    });
    const r = checkLayer(conv, { params, inputs, repeat: 0 });
    const unchecked = r.gradients.filter((g) => g.unchecked);
    expect(r.pass).toBe(true);
    expect(unchecked.map((g) => `${g.impl} ${g.name}`)).toEqual(['naive dx', 'naive db', 'fast dx', 'fast db']);
    const xml = renderJunit(runOf([{ name: 'huge', report: r }], { name: 'x' }));
    const doc = parse(xml);
    expect(doc.testsuites.testsuite[0]).toMatchObject({ tests: '6', failures: '0', skipped: '4' });
    expect(xml).toMatch(/<testsuites name="x" tests="6" failures="0" errors="0" skipped="4"/);
    const dx = doc.testsuites.testsuite[0].testcase.find((t) => t.name === 'naive dx') as unknown as { skipped: { message: string } };
    expect(dx.skipped.message).toMatch(/^nothing checked: all \d+ elements are beyond the step's resolution: h = 1e-5/);
    expect(doc.testsuites.testsuite[0].testcase.find((t) => t.name === 'naive dw')).toEqual({ classname: 'huge', name: 'naive dw' });
    const html = renderHtmlReport(runOf([{ name: 'huge', report: r }], { name: 'x' }));
    expect(html.match(/<td class="status-warn"><span class="warn">unchecked<\/span> nothing checked: /g)).toHaveLength(4);
  });
});
