/**
 * Typed errors. Every error a user can cause is a CnnCheckError with a stable `code`;
 * the CLI maps them to exit code 2 and prints the one-line message. Messages follow
 * the pattern `where: expected X, got Y`.
 */
export class CnnCheckError extends Error {
  /** Stable machine-readable code, e.g. `E_USAGE`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad flag, an unknown command or layer, a malformed option value. */
export class UsageError extends CnnCheckError {
  constructor(message: string) {
    super('E_USAGE', message);
  }
}

/** Shapes that cannot work together (rank, channel count, window larger than input). */
export class ShapeError extends CnnCheckError {
  constructor(message: string) {
    super('E_SHAPE', message);
  }
}

/** A layer parameter out of its domain (stride 0, eps <= 0, G not dividing C). */
export class ParamError extends CnnCheckError {
  constructor(message: string) {
    super('E_PARAM', message);
  }
}

/** A file that is not a valid .npy/.npz/fixture; `file` and `member` name where. */
export class FormatError extends CnnCheckError {
  constructor(message: string) {
    super('E_FORMAT', message);
  }
}

/** A file-system problem the user can fix (missing file, refusing to overwrite). */
export class FileError extends CnnCheckError {
  constructor(message: string) {
    super('E_FILE', message);
  }
}

/** True for errors that are the user's to fix (exit code 2), false for bugs. */
export function isUserError(err: unknown): err is CnnCheckError {
  return err instanceof CnnCheckError;
}

/** A user's module that has no implementation of the layer asked for (`suite --impl` skips such entries). */
export class ImplMissingError extends CnnCheckError {
  constructor(message: string) {
    super('E_IMPL_MISSING', message);
  }
}

/** Work that would need more memory than the limit allows (`--max-memory`): refused before anything is allocated. */
export class MemoryLimitError extends CnnCheckError {
  constructor(message: string) {
    super('E_MEMORY', message);
  }
}
