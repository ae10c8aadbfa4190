/**
 * GitHub Actions annotations: the escaping rules of workflow commands, one `::error` per
 * failure, and the CLI printing them only under GITHUB_ACTIONS=true (read from its own env).
 */
import { describe, expect, it } from 'vitest';
import { conv, convBackwardNaive } from '../../src/layers/conv.js';
import type { LayerSpec } from '../../src/layers/types.js';
import { checkLayer, type LayerCheckReport } from '../../src/gradcheck/check-layer.js';
import { escapeData, escapeProperty, failureAnnotations, inGithubActions, workflowCommand } from '../../src/report/github.js';
import { runOf } from '../helpers/report.js';
import { run } from '../helpers/io.js';

/** Undo the escaping as the runner does, to check nothing is lost. */
const unescapeCommand = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');

describe('workflow command escaping', () => {
  it('message: %, \\r and \\n; properties also : and ,', () => {
    expect(escapeData('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext: a, b');
    expect(escapeProperty('100% done\r\nnext: a, b')).toBe('100%25 done%0D%0Anext%3A a%2C b');
    // % first: an input that already looks escaped is not taken for an escape.
    expect(escapeData('%0A')).toBe('%250A');
    for (const s of ['%3A,:%', 'a\nb\rc', '%%%', 'x:y,z%2C']) {
      expect(unescapeCommand(escapeProperty(s))).toBe(s);
      expect(escapeProperty(s)).not.toMatch(/[:,\r\n]/);
      expect(escapeData(s)).not.toMatch(/[\r\n]/);
    }
  });

  it('a command line: ::error title=...,file=...::message, undefined properties left out', () => {
    expect(workflowCommand('error', 'rel error 1 > 1e-7\nsee report', { title: 'cnn-check: conv, naive dx', file: undefined })).toBe(
      '::error title=cnn-check%3A conv%2C naive dx::rel error 1 > 1e-7%0Asee report',
    );
    expect(workflowCommand('warning', 'x', { file: 'suites/ci.json', title: 't' })).toBe('::warning file=suites/ci.json,title=t::x');
    expect(workflowCommand('notice', 'plain')).toBe('::notice::plain');
  });

  it('GITHUB_ACTIONS must be exactly "true"', () => {
    expect(inGithubActions({ GITHUB_ACTIONS: 'true' })).toBe(true);
    expect(inGithubActions({ GITHUB_ACTIONS: '1' })).toBe(false);
    expect(inGithubActions({})).toBe(false);
  });
});

const signFlipped: LayerSpec = {
  ...conv,
  impls: {
    ...conv.impls,
    naive: {
      forward: conv.impls.naive.forward,
      backward: (dout, cache) => {
        const g = convBackwardNaive(dout, cache);
        return { ...g, dw: { data: g.dw.data.map((v) => -v), shape: g.dw.shape } };
      },
    },
  },
};

describe('failureAnnotations', () => {
  it('one ::error per failing gradient with its numbers, one per problem, none for passing checks', () => {
    const failing = checkLayer(signFlipped, { params: { stride: 1, pad: 1 }, repeat: 0 });
    const passing = checkLayer(conv, { params: { stride: 1, pad: 1 }, repeat: 0 });
    const problem: LayerCheckReport = { ...passing, pass: false, gradients: [], problems: ['conv threw: boom'] };
    const lines = failureAnnotations(
      runOf(
        [
          { name: 'ok', report: passing },
          { name: 'conv stride=1, pad=1', report: failing },
          { name: 'throws', report: problem },
        ],
        { file: 'ci/suite.json' },
      ),
    );
    expect(lines).toHaveLength(2);
    const [grad, prob] = lines;
    expect(grad).toMatch(
      /^::error title=cnn-check%3A conv stride=1%2C pad=1 naive dw,file=ci\/suite\.json::rel error 1\.00e\+0 > threshold 1\.00e-7; worst element \(\d, \d, \d, \d\): analytic -?[\d.]+, numeric -?[\d.]+; max abs error [\d.e+-]+; hint: analytic dw = -numeric/,
    );
    expect(prob).toBe('::error title=cnn-check%3A throws,file=ci/suite.json::conv threw: boom');
    for (const l of lines) expect(l.split('\n')).toHaveLength(1);
  });
});

describe('the CLI under GitHub Actions', () => {
  const failingArgs = ['batchnorm', '--h', '0.5', '--repeat', '0'];

  it('prints annotations on stdout after the report', async () => {
    const r = await run(failingArgs, { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .filter((l) => l.startsWith('::error'));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(
      /^::error title=cnn-check%3A batchnorm mode=train eps=1e-5 momentum=0\.9 (naive|fast) dx::rel error [\d.e+-]+ > threshold 1\.00e-5; /,
    );
    expect(r.stdout.indexOf('::error')).toBeGreaterThan(r.stdout.indexOf('FAIL:'));
  });

  it('with --json on stderr, so stdout stays one JSON document', async () => {
    const r = await run([...failingArgs, '--json'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).pass).toBe(false);
    expect(r.stderr).toMatch(/^::error title=cnn-check%3A batchnorm /);
  });

  it('nothing outside GitHub Actions, nor when every check passes', async () => {
    const outside = await run(failingArgs, { env: { GITHUB_ACTIONS: 'false' } });
    expect(outside.stdout + outside.stderr).not.toContain('::error');
    const passing = await run(['relu', '--repeat', '0'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(passing.code).toBe(0);
    expect(passing.stdout + passing.stderr).not.toContain('::');
  });
});
