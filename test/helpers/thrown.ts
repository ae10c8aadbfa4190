/**
 * What a call throws, caught once so that several matchers can inspect it: a module that cannot be
 * loaded is loaded (a worker started) once, not once per matcher.
 */

/** What `f` throws, or undefined when it returns. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** A function that throws `err` again, for `expect(...).toThrow(...)`. */
export function rethrow(err: unknown): () => never {
  return () => {
    throw err;
  };
}
