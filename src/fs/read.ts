/**
 * Reading files whose paths the user gives: fixtures (`.npy`, `.npz`, a directory's `.npy`
 * files and `meta.json`), `--input`, `--inputs`, suite files, `--baseline`, and the `--impl`
 * module's path check. Every such read goes through here.
 *
 * Why not readFileSync: `stat` gives size 0 for devices, FIFOs and /proc files, so a size
 * check passes and readFileSync then reads `/dev/zero` until memory runs out (16.8 GB and an
 * abort, for a `meta.json` symlinked to it); opening a FIFO for reading blocks until a writer
 * appears, forever. So a file is
 *
 * 1. `stat`ed first: only a regular file is opened at all (a device is never opened: opening
 *    some devices has effects);
 * 2. opened with O_NONBLOCK, so a FIFO swapped in after the stat cannot block the open, and
 *    `fstat`ed through the descriptor: it must still be a regular file;
 * 3. refused when its size exceeds the caller's bound, before anything is read;
 * 4. read with the bound as well, never trusting the stat size alone: a file that grows while
 *    it is read is cut off at the bound and refused, one that shrinks is refused.
 *
 * Large files are read by position (`RegularFile.read`), so a reader takes the parts it has
 * validated (an npz's central directory, an npy's header) before the data. Every problem is a
 * FileError with one line: `where: expected X, got Y`.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { FileError } from '../errors.js';

/** How messages name a file and say what it should be. */
export interface FileTarget {
  /** How messages name the file: its path, or `--impl conv.mjs`. */
  label: string;
  /** What the file should be, for messages: `a JSON suite file`. */
  expected: string;
  /** What the file is, for the rare errors worded around it (kept for callers; every error of the file system now reads the same). */
  cannotRead?: string;
  /** When set, the whole message for a path that does not exist. */
  missing?: string;
}

/** The kind of a file as messages name it: `a directory`, `a FIFO`, `a character device`. */
export function describeKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** The FileError for a failed system call on `target` (ENOENT, EACCES, ELOOP, ...). */
export function fileSystemError(err: unknown, target: FileTarget): FileError {
  const code = (err as NodeJS.ErrnoException)?.code ?? String((err as Error)?.message ?? err);
  // NOTE: one wording for every command: a missing suite, fixture, baseline or module reads the same.
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new FileError(target.missing ?? `${target.label}: no such file or directory: expected ${target.expected}`);
  }
  const words: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ELOOP: 'too many symbolic links',
    ENAMETOOLONG: 'the name is too long',
  };
  return new FileError(`${target.label}: cannot read it (${words[code] ?? code}): expected ${target.expected}`);
}

/** `stat` of `path` (following symlinks), errors as FileError. */
export function statTarget(path: string, target: FileTarget): Stats {
  if (path === '') throw new FileError(`${target.label}: expected ${target.expected}, got an empty path`);
  try {
    return statSync(path);
  } catch (err) {
    throw fileSystemError(err, target);
  }
}

/** Throws a FileError unless `path` is a regular file (or a symlink to one). */
export function requireRegularFile(path: string, target: FileTarget): Stats {
  const st = statTarget(path, target);
  if (!st.isFile()) throw new FileError(`${target.label}: expected ${target.expected}, got ${describeKind(st)}`);
  return st;
}

/** An open regular file, read by position. Close it when done. */
export interface RegularFile {
  /** The size `fstat` gave when it was opened. */
  readonly length: number;
  /** Exactly `n` bytes at `offset` (a fresh buffer), or a FileError when the file has fewer. */
  read(offset: number, n: number): Uint8Array;
  /** Up to `n` bytes at `position` into `buf` at `at`; 0 at end of file. */
  readSome(buf: Uint8Array, at: number, n: number, position: number): number;
  close(): void;
}

// NOTE: O_NONBLOCK so that a FIFO put in place of the file between the stat and the open
// cannot block the open; O_NOFOLLOW on request, so that the final component cannot have been
// swapped for a symlink after the caller resolved it.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Options of the functions that open a file: how it is named, and its bound. */
export interface OpenOptions extends FileTarget {
  /** Largest size accepted, in bytes; a larger file is refused before anything is read. */
  maxBytes?: number;
  /** Appended to the message of a file over `maxBytes`: ` (raise --max-bytes)`. */
  hint?: string;
  /** Refuse a symlink as the final component (the caller resolved the path itself). */
  noFollow?: boolean;
}

class OpenFile implements RegularFile {
  private open = true;
  constructor(
    private readonly fd: number,
    readonly length: number,
    private readonly target: FileTarget,
  ) {}

  readSome(buf: Uint8Array, at: number, n: number, position: number): number {
    if (!this.open) throw new Error(`${this.target.label}: read after close`);
    try {
      return readSync(this.fd, buf, at, n, position);
    } catch (err) {
      throw fileSystemError(err, this.target);
    }
  }

  read(offset: number, n: number): Uint8Array {
    if (offset < 0 || n < 0 || offset + n > this.length) {
      throw new FileError(`${this.target.label}: expected ${n} bytes at offset ${offset}, got a file of ${this.length} bytes`);
    }
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const k = this.readSome(buf, got, n - got, offset + got);
      if (k === 0) throw new FileError(`${this.target.label}: the file shrank while it was read: expected ${n} bytes at offset ${offset}, got ${got}`);
      got += k;
    }
    return buf;
  }

  close(): void {
    if (this.open) closeSync(this.fd);
    this.open = false;
  }
}

/**
 * Open `path`, which must be a regular file (a symlink to one is followed unless `noFollow`),
 * checked by `stat` before the open and by `fstat` of the descriptor after it. A file over
 * `maxBytes` is refused before anything is read.
 */
export function openRegularFile(path: string, opts: OpenOptions): RegularFile {
  requireRegularFile(path, opts);
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS | (opts.noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (err) {
    throw fileSystemError(err, opts);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileError(`${opts.label}: expected ${opts.expected}, got ${describeKind(st)}`);
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
      throw new FileError(`${opts.label}: expected ${opts.expected} of at most ${opts.maxBytes} bytes, got ${st.size} bytes${opts.hint ?? ''}`);
    }
    return new OpenFile(fd, st.size, opts);
  } catch (err) {
    closeSync(fd);
    if (err instanceof FileError) throw err;
    throw fileSystemError(err, opts);
  }
}

/** Run `fn` on the open regular file at `path` and close it, whatever happens. */
export function withRegularFile<T>(path: string, opts: OpenOptions, fn: (f: RegularFile) => T): T {
  const f = openRegularFile(path, opts);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}

/**
 * The whole of a regular file of at most `maxBytes` bytes. Reads to the end of the file but
 * never past the bound, whatever `fstat` said: a file that turns out longer is refused.
 */
export function readFileBounded(path: string, opts: OpenOptions & { maxBytes: number }): Uint8Array {
  return withRegularFile(path, opts, (f) => {
    const max = opts.maxBytes;
    // The size fstat gave plus one byte, to see that the file really ends there.
    let buf = new Uint8Array(Math.min(f.length, max) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (got > max) break;
        const grown = new Uint8Array(Math.min(max + 1, buf.length * 2));
        grown.set(buf);
        buf = grown;
      }
      const k = f.readSome(buf, got, buf.length - got, got);
      if (k === 0) break;
      got += k;
    }
    if (got > max) {
      throw new FileError(`${opts.label}: expected ${opts.expected} of at most ${max} bytes, got more while reading it${opts.hint ?? ''}`);
    }
    return buf.subarray(0, got);
  });
}

const utf8 = new TextDecoder('utf-8');

/** The text (UTF-8; invalid sequences become U+FFFD) of a regular file of at most `maxBytes` bytes. */
export function readTextFile(path: string, opts: OpenOptions & { maxBytes: number }): string {
  return utf8.decode(readFileBounded(path, opts));
}
