/**
 * The kinds of implementation modules cnn-check can check, and opening one by its path. A new
 * kind (a module in another language) is one ImplKind added to IMPL_KINDS; the checker, the
 * layer commands, suites and `bench` reach it through `openModule`.
 */
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { requireRegularFile } from '../fs/read.js';
import type { LayerSpec } from '../layers/types.js';
import { jsModuleKind } from './js-module/kind.js';
import { pythonModuleKind } from './python/load.js';
import type { FunctionSelection, ImplKind, ImplModule, Implementation, OpenOptions } from './types.js';

/** Every kind of module, in the order messages list them. */
export const IMPL_KINDS: readonly ImplKind[] = [jsModuleKind, pythonModuleKind];

/** A module reference as given: `PATH`, `PATH:forward,backward` choosing two functions, or `PATH:function` choosing one. */
export interface ImplRef {
  path: string;
  select?: FunctionSelection;
}

const SELECTION = /^(.+):([A-Za-z_$][\w$]*)(?:,([A-Za-z_$][\w$]*))?$/;

/** Split `PATH:forward,backward` or `PATH:function` (identifiers after the last colon) from a plain path. */
export function parseImplRef(ref: string): ImplRef {
  const m = SELECTION.exec(ref);
  if (!m) return { path: ref };
  return { path: m[1], select: m[3] === undefined ? { forward: m[2] } : { forward: m[2], backward: m[3] } };
}

/** The kind of module at `path` by its extension; throws UsageError listing the kinds. */
export function kindOf(path: string, label: string): ImplKind {
  const ext = extname(path).toLowerCase();
  const kind = IMPL_KINDS.find((k) => k.extensions.includes(ext));
  if (!kind) throw new UsageError(`${label}: expected ${IMPL_KINDS.map((k) => k.describe).join(', or ')}, got '${ext || path}'`);
  return kind;
}

/** Open the module at `path` (one worker or process for the run): a regular file of a known kind. */
export function openModule(path: string, opts: OpenOptions): ImplModule {
  requireRegularFile(path, { label: opts.label, expected: 'a module file' });
  return kindOf(path, opts.label).open(path, opts);
}

/**
 * Modules opened by path, each once for a whole run (a suite names the same module in many
 * entries); `closeAll` stops them.
 */
export class ModuleSet {
  private readonly modules = new Map<string, ImplModule>();

  /** The module `ref` names (its function selection aside), opened on first use. */
  module(ref: string, opts: OpenOptions): ImplModule {
    const { path } = parseImplRef(ref);
    // NOTE: one module opened with another timeout or interpreter is another worker or process.
    const key = `${path}\0${opts.timeout}\0${opts.python ?? ''}`;
    let mod = this.modules.get(key);
    if (!mod) {
      mod = openModule(path, opts);
      this.modules.set(key, mod);
    }
    return mod;
  }

  /** The implementations of `spec` in the module `ref` names, opening it on first use. */
  implementations(ref: string, spec: LayerSpec, opts: OpenOptions): Implementation[] {
    return this.module(ref, opts).implementationsFor(spec, parseImplRef(ref).select);
  }

  closeAll(): void {
    for (const m of this.modules.values()) m.close();
    this.modules.clear();
  }
}
