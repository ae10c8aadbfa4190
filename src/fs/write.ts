/**
 * The one atomic file writer: `export` fixtures, `bench --save` baselines and the `--junit` /
 * `--report` files all go through `writeFileAtomic`.
 *
 * A file is written to a temporary file in the same directory, flushed, then committed:
 * - without `replace` (fixtures and baselines, inputs of later runs) by `link()` to the final
 *   name, which fails if the name exists: unlike a check followed by a rename, two writers
 *   racing for one name cannot both succeed; one wins, the others get "already exists";
 * - with `replace` (`--force`, and report files, which every run regenerates) by `rename()`,
 *   which replaces the name atomically.
 * Readers see the old state or the whole new file, never half of it.
 *
 * Interruption: while a file is written, SIGINT and SIGTERM are caught instead of killing the
 * process mid-write (which left a full hidden `.tmp` file behind). The write is synchronous, so
 * a signal that arrives during it is handled when it has finished (committed, or failed and its
 * temporary file removed); the handler removes any temporary file still there and, when nothing
 * else listens, ends the process with the same signal, as the default action would have (a
 * shell reports 130 / 143).
 *
 * `checkOutputPath` validates a path before a long computation, so a run does not end in an
 * error about its output: the directory exists and takes new files, the name is free (or
 * `replace`), and it is not a directory or a device.
 */
import { closeSync, constants, fsyncSync, linkSync, openSync, renameSync, stat, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError } from '../errors.js';
import { describeKind } from './read.js';

/** How to write: replace an existing file or refuse it, and how messages name the output. */
export interface WriteOptions {
  /** Replace an existing file (`--force`, report files); otherwise an existing name is refused. */
  replace: boolean;
  /** How messages name the output: `--out`, `--save`, `--junit`. */
  flag: string;
}

/** The message prefix for `path` written through `flag`: `--out case.npz`. */
function where(path: string, flag: string): string {
  return `${flag} ${path}`;
}

function exists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The FileError for an output name that is taken. */
function alreadyExists(path: string, flag: string): FileError {
  return new FileError(`${where(path, flag)}: already exists: expected a new path, or --force to overwrite it`);
}

/**
 * Throws a FileError unless `path` can be written as `opts` says: its directory exists and
 * new files can be created in it (tried, not guessed from mode bits: root, read-only mounts
 * and ACLs all decide differently), and the name is free, or with `replace` a regular file.
 */
export function checkOutputPath(path: string, opts: WriteOptions): void {
  if (path === '') throw new FileError(`${opts.flag}: expected a file path, got an empty path`);
  const dir = dirname(resolve(path));
  const d = exists(dir);
  if (!d) throw new FileError(`${where(path, opts.flag)}: directory ${dirname(path)} does not exist`);
  if (!d.isDirectory()) throw new FileError(`${where(path, opts.flag)}: expected a path in a directory, got ${dirname(path)}, ${describeKind(d)}`);
  const st = exists(path);
  if (st?.isDirectory()) throw new FileError(`${where(path, opts.flag)}: is a directory: expected a file path`);
  if (st && !opts.replace) throw alreadyExists(path, opts.flag);
  if (st && !st.isFile()) throw new FileError(`${where(path, opts.flag)}: expected a regular file to replace, got ${describeKind(st)}`);
  const probe = tempName(path, 'probe');
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new FileError(`${where(path, opts.flag)}: expected a writable directory, got ${dirname(path)} (creating a file there fails: ${code})`);
  }
}

/** `.case.npz.1234.9f86d081.tmp` next to `path`: hidden, unique, recognisable. */
function tempName(path: string, kind: 'tmp' | 'probe'): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.${kind}`);
}

// ---------------------------------------------------------------------------------------
// Signals

/** Temporary files written now, removed by the signal handler. */
const pending = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** Writes that have started and whose signals may not have been delivered yet. */
let active = 0;

function removePending(): void {
  for (const tmp of pending) {
    try {
      unlinkSync(tmp);
    } catch {
      // already committed or removed
    }
  }
  pending.clear();
}

function uninstall(): void {
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  removePending();
  // Only when nobody else listens: then the default action is what the process would have
  // done, so it is restored and the signal sent again (exit by signal: 130 / 143 in a shell).
  if (process.listenerCount(signal) === 1) {
    uninstall();
    active = 0;
    process.kill(process.pid, signal);
  }
}

/** Catch SIGINT and SIGTERM while a write runs (see the module comment). */
function beginWrite(): void {
  if (active++ === 0) for (const s of SIGNALS) process.on(s, onSignal);
}

/**
 * The end of a write. NOTE: a signal that arrived during the synchronous write sits in libuv's
 * signal pipe until the event loop polls, and the loop exits without polling when nothing keeps
 * it alive (the CLI ends right after its last write): the signal was lost and the process
 * exited 0. An asynchronous `stat` keeps the loop alive until it polls; the signal, ready
 * before the stat was even issued, is dispatched in that poll. The listeners are removed only
 * after it (setImmediate runs after the poll phase), so the signal still finds them.
 */
function endWrite(dir: string): void {
  stat(dir, () => {
    setImmediate(() => {
      if (active > 0 && --active === 0) uninstall();
    });
  });
}

// ---------------------------------------------------------------------------------------
// Writing

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Write `data` to `path` atomically (see the module comment): a temporary file in the same
 * directory, flushed, then renamed over `path` (`replace`) or hard-linked to it (which refuses
 * an existing name, even one created meanwhile by another process). Throws FileError.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: WriteOptions): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  if (!opts.replace && exists(path)) throw alreadyExists(path, opts.flag);
  beginWrite();
  const tmp = tempName(path, 'tmp');
  pending.add(tmp);
  const fail = (err: unknown): FileError => {
    if (err instanceof FileError) return err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return new FileError(`${where(path, opts.flag)}: cannot write it (${code})`);
  };
  try {
    let fd: number | undefined;
    try {
      fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    if (opts.replace) {
      renameSync(tmp, path);
    } else {
      commitWithoutReplacing(tmp, path, bytes, opts.flag);
    }
  } catch (err) {
    throw fail(err);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // renamed, or never created
    }
    pending.delete(tmp);
    endWrite(dirname(resolve(path)));
  }
}

/**
 * Give `tmp` the name `path` unless the name exists. `link()` does that atomically. NOTE: a
 * file system without hard links (some FUSE and FAT mounts: EPERM, ENOTSUP, ENOSYS) falls back
 * to creating `path` exclusively (O_EXCL) and copying into it: still never replaces, but a
 * crash mid-copy can leave a partial file there.
 */
function commitWithoutReplacing(tmp: string, path: string, bytes: Uint8Array, flag: string): void {
  try {
    linkSync(tmp, path);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw alreadyExists(path, flag);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(path, flag);
    throw err;
  }
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
