/**
 * JUnit XML for CI test reporters: one `<testsuite>` per check (a suite entry, or the one check
 * of a layer command) and one `<testcase>` per implementation and gradient (`naive dx`), so a
 * reporter lists `conv stride=2 pad=1 > fast dw` as one test. A failing gradient carries a
 * `<failure>` whose message has the numbers (relative error, threshold, worst element with its
 * analytic and numeric values, hint) and whose text adds the details. A check that fails as a
 * whole (NaN in the output, a layer that throws) gets a testcase `problems`.
 *
 * The widely read form (Jenkins, GitLab, GitHub reporters): `testsuites > testsuite >
 * (properties, testcase*, system-out)`, counts as attributes, time in seconds. Text is escaped
 * for XML, and characters XML 1.0 cannot hold (control characters, lone surrogates) become
 * U+FFFD, so any check name or message gives a well-formed document. Pure: data in, string out.
 */
import type { ImplGradientRow } from '../gradcheck/check-layer.js';
import {
  arrayFailure,
  comparisonFailure,
  fmtErr,
  fmtNum,
  fmtVal,
  gradientFailure,
  indexText,
  paramsText,
  shapesText,
  unexplainedFailure,
  worstAt,
} from './format.js';
import type { ReportedCheck, RunReport } from './model.js';
import type { GradeReport } from '../grade/grade.js';
import { arrayText, caseSetupText, gradeCaseFailure } from './format.js';

/** `text` with every character XML 1.0 cannot hold replaced by U+FFFD. */
export function xmlSafe(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || cp >= 0x10000;
    out += ok ? ch : '\ufffd';
  }
  return out;
}

/** Escape for element text. */
export function xmlText(text: string): string {
  return xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escape for a double-quoted attribute; line breaks and tabs as references so parsers keep them. */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function seconds(s: number | undefined): string {
  return (s ?? 0).toFixed(3);
}

/** The details of a failing gradient, one fact per line. */
function failureDetails(g: ImplGradientRow): string {
  const lines = [
    `implementation: ${g.impl}`,
    `gradient: ${g.name} (of ${g.input})`,
    `relative error: ${fmtErr(g.relError)}`,
    `threshold: ${fmtErr(g.threshold)}`,
    `max abs error: ${fmtErr(g.maxAbsError)}`,
    `worst ${worstAt(g)}: analytic ${fmtVal(g.worst.analytic)}, numeric ${fmtVal(g.worst.numeric)}`,
    `checked: ${g.mode}, ${g.checked} of ${g.total} elements${g.directional ? `, ${g.directional.count} directions` : ''}, dtype ${g.dtype}`,
  ];
  if (g.kinks) lines.push(`kinks: ${g.kinks}`);
  if (g.message) lines.push(`message: ${g.message}`);
  const loc = g.localization;
  if (loc) {
    for (const e of loc.top)
      lines.push(`element ${indexText(e.index)}: analytic ${fmtVal(e.analytic)}, numeric ${fmtVal(e.numeric)}, rel error ${fmtErr(e.relError)}`);
    if (loc.border && loc.interior)
      lines.push(
        `border: max rel ${fmtErr(loc.border.maxRelError)}, ${loc.border.failing} of ${loc.border.count} fail; interior: max rel ${fmtErr(loc.interior.maxRelError)}, ${loc.interior.failing} of ${loc.interior.count} fail`,
      );
    if (loc.hint) lines.push(`hint: ${loc.hint.message}`);
  }
  return lines.join('\n');
}

function testcase(classname: string, name: string, failure?: { type: string; message: string; text: string }, skipped?: string): string {
  const open = `    <testcase classname="${xmlAttr(classname)}" name="${xmlAttr(name)}"`;
  if (skipped !== undefined) return `${open}><skipped message="${xmlAttr(skipped)}"/></testcase>`;
  if (!failure) return `${open}/>`;
  return [
    `${open}>`,
    `      <failure type="${xmlAttr(failure.type)}" message="${xmlAttr(failure.message)}">${xmlText(failure.text)}</failure>`,
    '    </testcase>',
  ].join('\n');
}

/** The testcases of one check, how many of them fail, and how many are skipped (a gradient that compared nothing and passes without --strict-kinks). */
function checkCases(c: ReportedCheck): { cases: string[]; failures: number; skipped: number } {
  const r = c.report;
  const cases: string[] = [];
  let failures = 0;
  let skipped = 0;
  for (const g of r.gradients) {
    if (g.pass && g.unchecked) {
      skipped++;
      cases.push(testcase(c.name, `${g.impl} ${g.name}`, undefined, g.unchecked));
    } else if (g.pass) cases.push(testcase(c.name, `${g.impl} ${g.name}`));
    else {
      failures++;
      cases.push(testcase(c.name, `${g.impl} ${g.name}`, { type: 'gradient', message: gradientFailure(g), text: failureDetails(g) }));
    }
  }
  // An extra implementation (`--impl`) against the reference: one testcase per array.
  for (const cmp of r.comparisons ?? []) {
    for (const a of cmp.arrays) {
      const name = `${cmp.impl} vs ${cmp.reference} ${a.name}`;
      if (a.pass) cases.push(testcase(c.name, name));
      else {
        failures++;
        const text = [
          `implementation: ${cmp.impl}${cmp.source ? ` (${cmp.source})` : ''}`,
          `reference: ${cmp.reference}`,
          `array: ${a.name} (${a.dtype})`,
          comparisonFailure(cmp, a),
        ].join('\n');
        cases.push(testcase(c.name, name, { type: 'reference', message: comparisonFailure(cmp, a), text }));
      }
    }
  }
  if (r.problems.length) {
    failures++;
    cases.push(testcase(c.name, 'problems', { type: 'problem', message: r.problems.join('; '), text: r.problems.join('\n') }));
  } else if (unexplainedFailure(r) || r.gradients.length === 0) {
    failures++;
    cases.push(
      testcase(c.name, 'check', {
        type: 'check',
        message: r.gradients.length ? 'the check failed: see its report' : 'no gradient was checked',
        text: r.notes.join('\n'),
      }),
    );
  }
  return { cases, failures, skipped };
}

/**
 * `grade`: one testsuite per layer, one testcase per function and case (`py:naive pad=0`): a
 * failure or an error with the message and hint, the case's setup and its smallest failing case
 * in the text; a warning (max-pool ties) passes with the warning in its system-out.
 */
function gradeSuites(g: GradeReport, timestamp?: string): { suites: string[]; tests: number; failures: number; errors: number; seconds: number } {
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let total = 0;
  for (const l of g.layers) {
    const cases: string[] = [];
    let f = 0;
    let e = 0;
    let secs = 0;
    for (const k of l.cases) {
      const classname = `grade.${l.layer}`;
      const name = `${k.function} ${k.name}`;
      secs += k.seconds;
      const open = `    <testcase classname="${xmlAttr(classname)}" name="${xmlAttr(name)}" time="${seconds(k.seconds)}"`;
      if (k.pass) {
        cases.push(
          k.warnings.length
            ? `${open}>\n      <system-out>${xmlText(k.warnings.map((w) => `WARNING: ${w}`).join('\n'))}</system-out>\n    </testcase>`
            : `${open}/>`,
        );
        continue;
      }
      const text = [
        `case: ${caseSetupText(k.shapes, k.params)}`,
        `inputs: ${k.inputs}`,
        `dtype: ${k.dtype}`,
        `gradient check: ${k.mode}`,
        `message: ${k.message}`,
      ];
      if (k.hint) text.push(`hint: ${k.hint}`);
      const s = k.shrunk;
      if (s && 'sameAs' in s) text.push(`smallest failing case: as for ${s.sameAs}`);
      else if (s) {
        text.push(`smallest failing case: ${caseSetupText(s.shapes, s.params)}: ${s.message}`);
        for (const a of s.arrays)
          text.push(`${a.role === 'yours' || a.role === 'reference' ? `${a.name}, ${a.role}` : a.name} = ${arrayText(a.values, a.shape)}`);
        if (s.fixture) text.push(`fixture: ${s.fixture}`);
      }
      const tag = k.status === 'error' ? 'error' : 'failure';
      if (k.status === 'error') e++;
      else f++;
      cases.push(
        [
          `${open}>`,
          `      <${tag} type="${xmlAttr(k.status)}" message="${xmlAttr(gradeCaseFailure(k))}">${xmlText(text.join('\n'))}</${tag}>`,
          '    </testcase>',
        ].join('\n'),
      );
    }
    tests += cases.length;
    failures += f;
    errors += e;
    total += secs;
    suites.push(
      [
        `  <testsuite name="${xmlAttr(`grade ${l.layer}`)}" tests="${cases.length}" failures="${f}" errors="${e}" skipped="0" time="${seconds(secs)}"${timestamp ? ` timestamp="${xmlAttr(timestamp)}"` : ''}>`,
        '    <properties>',
        `      <property name="module" value="${xmlAttr(g.module)}"/>`,
        `      <property name="functions" value="${xmlAttr(l.functions.join(', '))}"/>`,
        '    </properties>',
        ...cases,
        `    <system-out>${xmlText(l.summary)}</system-out>`,
        '  </testsuite>',
      ].join('\n'),
    );
  }
  return { suites, tests, failures, errors, seconds: total };
}

/**
 * JUnit XML for the checks of `run`; the run's name names the whole document
 * (`cnn-check suite default`). `timestamp` (ISO 8601) is written when given, so that the output
 * is otherwise a function of the data.
 */
export function renderJunit(run: RunReport, opts: { timestamp?: string } = {}): string {
  const checks = run.checks?.items ?? [];
  const fixtures = run.fixtures?.items ?? [];
  const invalid = run.fixtures?.invalid ?? [];
  const suites: string[] = [];
  let tests = 0;
  let failures = 0;
  let skippedAll = 0;
  let total = 0;
  let errors = 0;
  if (run.grade) {
    const gs = gradeSuites(run.grade, opts.timestamp);
    suites.push(...gs.suites);
    tests += gs.tests;
    failures += gs.failures;
    errors += gs.errors;
    total += gs.seconds;
  }
  for (const c of checks) {
    const r = c.report;
    const { cases, failures: f, skipped: sk } = checkCases(c);
    tests += cases.length;
    failures += f;
    skippedAll += sk;
    total += c.seconds ?? 0;
    const props: [string, string][] = [
      ['layer', r.layer],
      ['params', paramsText(r.params)],
      ['shapes', shapesText(r.shapes)],
      ['dtype', r.dtype],
      ['seed', String(r.seed)],
      ['h', fmtNum(r.h)],
      ['checkMode', r.mode],
      ['budget', String(r.budget)],
    ];
    const lines = [
      `  <testsuite name="${xmlAttr(c.name)}" tests="${cases.length}" failures="${f}" errors="0" skipped="${sk}" time="${seconds(c.seconds)}"${opts.timestamp ? ` timestamp="${xmlAttr(opts.timestamp)}"` : ''}>`,
      '    <properties>',
      ...props.map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`),
      '    </properties>',
      ...cases,
    ];
    if (r.notes.length) lines.push(`    <system-out>${xmlText(r.notes.map((n) => `note: ${n}`).join('\n'))}</system-out>`);
    lines.push('  </testsuite>');
    suites.push(lines.join('\n'));
  }
  // A fixture (compare, or a suite's fixture entry): one testsuite, one testcase per array.
  for (const f of fixtures) {
    const name = f.name ?? f.path;
    const cases = f.arrays.map((a) =>
      a.pass
        ? testcase(name, a.name)
        : testcase(name, a.name, {
            type: 'reference',
            message: arrayFailure('fixture', a),
            text: [`fixture: ${f.path}`, `array: ${a.name} (${a.dtype})`, arrayFailure('fixture', a)].join('\n'),
          }),
    );
    const f1 = f.arrays.filter((a) => !a.pass).length;
    tests += cases.length;
    failures += f1;
    total += f.seconds ?? 0;
    suites.push(
      [
        `  <testsuite name="${xmlAttr(name)}" tests="${cases.length}" failures="${f1}" errors="0" skipped="0" time="${seconds(f.seconds)}"${opts.timestamp ? ` timestamp="${xmlAttr(opts.timestamp)}"` : ''}>`,
        '    <properties>',
        ...[
          ['fixture', f.path],
          ['layer', f.layer],
          ['params', paramsText(f.params)],
        ].map(([k, v]) => `      <property name="${xmlAttr(k)}" value="${xmlAttr(v)}"/>`),
        '    </properties>',
        ...cases,
        '  </testsuite>',
      ].join('\n'),
    );
  }
  // A fixture that could not be read: an error (not a failure) of its own testsuite.
  for (const f of invalid) {
    const name = f.name ?? f.path;
    tests++;
    errors++;
    suites.push(
      [
        `  <testsuite name="${xmlAttr(name)}" tests="1" failures="0" errors="1" skipped="0" time="0.000">`,
        `    <testcase classname="${xmlAttr(name)}" name="read">`,
        `      <error type="invalid" message="${xmlAttr(f.error)}">${xmlText(f.error)}</error>`,
        '    </testcase>',
        '  </testsuite>',
      ].join('\n'),
    );
  }
  // Checks a run did not start (--max-time): skipped testcases, so the report names them.
  for (const k of run.notRun ?? []) {
    tests++;
    skippedAll++;
    suites.push(
      [
        `  <testsuite name="${xmlAttr(k.name)}" tests="1" failures="0" errors="0" skipped="1" time="0.000">`,
        `    <testcase classname="${xmlAttr(k.name)}" name="not run"><skipped message="${xmlAttr(k.reason)}"/></testcase>`,
        '  </testsuite>',
      ].join('\n'),
    );
  }
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlAttr(run.runName)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skippedAll}" time="${seconds(total)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
