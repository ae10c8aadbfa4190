/** A layer's own implementations (the registry's `naive`, `fast`, ...) as Implementations. */
import { UsageError } from '../errors.js';
import { implNames, type LayerSpec } from '../layers/types.js';
import type { Implementation } from './types.js';

/** The built-in implementations of `spec` named in `names` (default: all, the reference first). */
export function builtinImplementations(spec: LayerSpec, names?: readonly string[]): Implementation[] {
  const have = implNames(spec);
  for (const n of names ?? []) {
    if (!have.includes(n)) throw new UsageError(`${spec.name}: no implementation '${n}': expected ${have.join(', ')}`);
  }
  return (names ?? have).map((name) => ({ name, kind: 'builtin', impl: spec.impls[name], external: false }));
}
