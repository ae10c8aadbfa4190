/**
 * The `js` implementation kind: a JavaScript or TypeScript module opened in a worker, either
 * exporting `forward` and `backward` (the layer interface itself, load.ts) or functions with the
 * cs231n names (`conv_forward_naive(x, w, b, conv_param)`, named.ts).
 */
import { ImplMissingError, UsageError } from '../../errors.js';
import { canonicalLayerName } from '../../layers/registry.js';
import { knownAmong } from '../python/cs231n.js';
import type { ImplKind, ImplModule, OpenOptions } from '../types.js';
import { JS_EXTENSIONS, TS_EXTENSIONS, USER_IMPL_NAME, UserImplError, missingExports, startModule, userImpl } from './load.js';
import { NamedJsModule } from './named.js';

/** JavaScript and TypeScript modules exporting `forward` and `backward` (the layer interface itself). */
export const jsModuleKind: ImplKind = {
  name: 'js',
  extensions: [...JS_EXTENSIONS, ...TS_EXTENSIONS],
  describe: `a JavaScript module (${JS_EXTENSIONS.join(', ')}) or TypeScript (${TS_EXTENSIONS.join(', ')})`,
  open(path: string, opts: OpenOptions): ImplModule {
    const how = { timeout: opts.timeout, label: opts.label, log: opts.log };
    const started = startModule(path, how);
    const { mod } = started;
    if (mod.forward !== 'function' || mod.backward !== 'function') {
      // A module of cs231n-named functions (conv_forward_naive(x, w, b, conv_param) -> [out, cache], ...).
      if (mod.forward === 'undefined' && mod.backward === 'undefined' && knownAmong(mod.functions).length) return new NamedJsModule(started, how);
      started.bridge.stop('the module lacks forward or backward');
      throw missingExports(started);
    }
    const user = userImpl(started);
    return {
      path: user.path,
      kind: 'js',
      implementationsFor(spec, select) {
        if (select) {
          throw new UsageError(
            `${opts.label}: a JavaScript module exports forward and backward; drop ':${select.forward}${select.backward ? `,${select.backward}` : ''}'`,
          );
        }
        if (user.layer !== undefined && canonicalLayerName(user.layer) !== spec.name) {
          throw new ImplMissingError(`${opts.label}: the module implements ${user.layer} (its export layer), not ${spec.name}`);
        }
        return [
          {
            name: USER_IMPL_NAME,
            kind: 'js',
            impl: user.impl,
            source: path,
            external: true,
            lastCallMs: user.lastCallMs,
            ownsError: (err) => err instanceof UserImplError,
          },
        ];
      },
      layers: () => (user.layer === undefined ? undefined : [canonicalLayerName(user.layer)]),
      close: user.close,
    };
  },
};
