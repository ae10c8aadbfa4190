/**
 * `cnn-check grade --watch`, run as a user runs it (the built bin): a first report, an edit of the
 * module grades it again (a second report, now failing), a module that no longer imports is an
 * error line and the watch goes on, and Ctrl-C (SIGINT) ends the watch cleanly: exit code 0.
 * Needs python3 with numpy.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/cnn-check.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cnn-check-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RELU = (backward: string) => `import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return ${backward}
`;

/** Resolves when `pred` holds for the output so far (checked on every chunk), rejects after `ms`. */
function until(out: { text: string }, pred: (text: string) => boolean, on: NodeJS.ReadableStream[], ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pred(out.text)) return resolve();
    const timer = setTimeout(() => reject(new Error(`timed out; output so far:\n${out.text}`)), ms);
    const check = () => {
      if (!pred(out.text)) return;
      clearTimeout(timer);
      for (const s of on) s.off('data', check);
      resolve();
    };
    for (const s of on) s.on('data', check);
  });
}

describe('grade --watch', () => {
  it('grades again after an edit, survives a module that does not import, and Ctrl-C ends it with exit code 0', async () => {
    const module = join(dir, 'layers.py');
    writeFileSync(module, RELU('dout * (cache > 0)'));
    const child = spawn(process.execPath, [bin, 'grade', module, '--watch', '--quick'], { env: { ...process.env, COLUMNS: '80' } });
    const out = { text: '' };
    let stderr = '';
    child.stdout.on('data', (d) => (out.text += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      out.text += d;
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      const watching = (n: number) => (t: string) => t.split('watching ').length - 1 >= n;
      await until(out, watching(1), [child.stdout, child.stderr], 30_000);
      expect(out.text).toMatch(/^PASS: 3 of 3 cases pass in 1 layer$/m);
      expect(stderr).toBe(`watching ${module} for changes; Ctrl-C to stop\n`);
      // The edit: relu_backward now passes dout through everywhere.
      writeFileSync(module, RELU('dout'));
      await until(out, watching(2), [child.stdout, child.stderr], 30_000);
      expect(out.text).toMatch(/^FAIL relu py notebook: dx differs from the reference/m);
      expect(out.text).toMatch(/^FAIL: \d of 3 cases fail, in relu$/m);
      // A module that no longer imports: the error is printed, and the watch goes on.
      writeFileSync(module, 'def relu_forward(x:\n');
      await until(out, watching(3), [child.stdout, child.stderr], 30_000);
      expect(stderr).toMatch(/^cnn-check: .*layers\.py: cannot import the module: SyntaxError: .*\(layers\.py:1\)$/m);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(
      stderr
        .split('\n')
        .filter(Boolean)
        .filter((l) => !l.startsWith('watching ')).length,
    ).toBe(1);
  }, 90_000);
});
