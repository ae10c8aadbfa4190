/**
 * fs/read.ts: only regular files are opened, a bound is applied before and while reading, and
 * every problem is one FileError line `where: expected X, got Y`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileError } from '../../src/errors.js';
import { openRegularFile, readFileBounded, readTextFile, requireRegularFile } from '../../src/fs/read.js';

const dir = mkdtempSync(join(tmpdir(), 'cnn-check-fs-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (name: string) => join(dir, name);
const target = (label: string) => ({ label, expected: 'a test file' });
const unix = process.platform !== 'win32';

describe('readFileBounded', () => {
  it('reads a regular file whole within the bound', () => {
    writeFileSync(at('a.txt'), 'hello');
    expect(new TextDecoder().decode(readFileBounded(at('a.txt'), { ...target('a'), maxBytes: 5 }))).toBe('hello');
    expect(readTextFile(at('a.txt'), { ...target('a'), maxBytes: 100 })).toBe('hello');
  });

  it('refuses a file over the bound before reading it', () => {
    writeFileSync(at('b.txt'), 'x'.repeat(100));
    expect(() => readFileBounded(at('b.txt'), { ...target('b'), maxBytes: 99, hint: ' (raise --max-bytes)' })).toThrow(
      'b: expected a test file of at most 99 bytes, got 100 bytes (raise --max-bytes)',
    );
  });

  it.skipIf(process.platform !== 'linux')('does not trust a stat size of 0: a /proc file is read to its end, and cut at the bound', () => {
    expect(readTextFile('/proc/self/status', { ...target('status'), maxBytes: 1 << 20 })).toMatch(/^Name:/);
    expect(() => readFileBounded('/proc/self/status', { ...target('status'), maxBytes: 10 })).toThrow(
      'status: expected a test file of at most 10 bytes, got more while reading it',
    );
  });

  it.skipIf(!unix)('refuses directories, devices and FIFOs by kind, without opening devices', () => {
    expect(() => readFileBounded(dir, { ...target('d'), maxBytes: 10 })).toThrow('d: expected a test file, got a directory');
    expect(() => readFileBounded('/dev/zero', { ...target('z'), maxBytes: 10 })).toThrow('z: expected a test file, got a character device');
    const fifo = at('f');
    spawnSync('mkfifo', [fifo]);
    expect(() => readFileBounded(fifo, { ...target('f'), maxBytes: 10 })).toThrow('f: expected a test file, got a FIFO');
  });

  it("names a missing file, in the caller's wording when it has one", () => {
    expect(() => requireRegularFile(at('nope'), target('n'))).toThrow('n: no such file or directory: expected a test file');
    expect(() => requireRegularFile(at('nope'), { ...target('n'), missing: 'n: no such file' })).toThrow(/^n: no such file$/);
    expect(() => requireRegularFile(at('nope'), { ...target('n'), cannotRead: 'the suite' })).toThrow(/^n: no such file or directory: expected /);
    expect(() => requireRegularFile(join(at('a.txt'), 'below'), target('n'))).toThrow(FileError);
    expect(() => requireRegularFile('', target('e'))).toThrow('e: expected a test file, got an empty path');
  });

  it.skipIf(!unix)('noFollow refuses a symlink as the last component', () => {
    symlinkSync(at('a.txt'), at('link.txt'));
    expect(readTextFile(at('link.txt'), { ...target('l'), maxBytes: 10 })).toBe('hello');
    expect(() => readTextFile(at('link.txt'), { ...target('l'), maxBytes: 10, noFollow: true })).toThrow(
      'l: cannot read it (too many symbolic links): expected a test file',
    );
  });
});

describe('RegularFile: reads by position', () => {
  it('returns exactly the bytes asked for, refuses reads past the length and notices a file that shrank', () => {
    mkdirSync(at('pos'));
    const p = at('pos/data.bin');
    writeFileSync(
      p,
      Uint8Array.from({ length: 100 }, (_, i) => i),
    );
    const f = openRegularFile(p, target('data'));
    try {
      expect(f.length).toBe(100);
      expect(Array.from(f.read(10, 3))).toEqual([10, 11, 12]);
      expect(() => f.read(98, 3)).toThrow('data: expected 3 bytes at offset 98, got a file of 100 bytes');
      truncateSync(p, 50);
      expect(() => f.read(40, 20)).toThrow('data: the file shrank while it was read: expected 20 bytes at offset 40, got 10');
    } finally {
      f.close();
    }
  });
});
