/**
 * The one schema of check settings. Each setting is declared here once: its key (the library
 * option and the suite-file field), its flag, its domain, its default and its help. The layer
 * commands' flags, the suite entries' fields, the defaults of checkLayer and every validation
 * are derived from this table; nothing else restates a setting's domain or default.
 *
 * Adding a setting: add one entry to SETTINGS (and read `settings.<key>` where it acts). The
 * layer commands get a flag in its group, suite files a field, the README's flag table and
 * `--help` its text, without another edit.
 */
import { describeDomain, parseValue, shown, type Domain } from './domain.js';
import { clip } from '../text/escape.js';
import { ParamError } from '../errors.js';

/** How much of each gradient the numeric side evaluates (see gradcheck/modes.ts). */
export const CHECK_MODES = ['full', 'sampled', 'directional', 'auto'] as const;
export type CheckMode = (typeof CHECK_MODES)[number];
/** The dtypes a check can run a layer in. */
export const DTYPES = ['float64', 'float32'] as const;
/** Generators of random inputs: cnn-check's own xoshiro128**, or numpy's legacy MT19937. */
export const RNG_NAMES = ['default', 'numpy'] as const;
export type RngName = (typeof RNG_NAMES)[number];
/** How generated inputs are filled: random draws, or `np.linspace` as the cs231n notebooks do. */
export const INIT_NAMES = ['randn', 'linspace'] as const;
export type InitName = (typeof INIT_NAMES)[number];

/** Default seed of generated inputs (printed with every report so a run can be repeated). */
export const DEFAULT_SEED = 231;
/** Largest seed: numpy's `np.random.seed` takes 32-bit seeds. */
export const MAX_SEED = 2 ** 32 - 1;
/** Default centred-difference step. */
export const DEFAULT_H = 1e-5;
/** Elements per input of a sampled check (2C covers every (channel, border/interior) pair for C <= 64). */
export const DEFAULT_SAMPLES = 128;
/** Directions per input of a directional check. */
export const DEFAULT_DIRECTIONS = 4;
/** Directions per input in auto mode: one already misses an error with probability ~ threshold * |g| / |error|. */
export const AUTO_DIRECTIONS = 2;
/** Default time budget of a check, in seconds. */
export const DEFAULT_BUDGET_SECONDS = 10;
/** Seconds a user module's forward or backward call may take by default before it counts as hanging. */
export const DEFAULT_IMPL_TIMEOUT_SECONDS = 60;
/**
 * Upper bounds of the counts a user gives: each sample costs two forward passes and each
 * direction two more, so these bound a check's work whatever the flags say (a billion
 * directions would run for days). 1e6 samples is every element of a 1000x1000 input. Their
 * memory is bounded apart: a kept direction is an array of the input's size, counted in the
 * check's estimate (--max-memory).
 */
export const MAX_SAMPLES = 1_000_000;
export const MAX_DIRECTIONS = 10_000;
/**
 * Longest time budget, timeout and --max-time: a day. Longer is a mistake in a unit (minutes for
 * seconds), and bounds what a typo can keep a CI runner busy for.
 */
export const MAX_SECONDS = 86_400;
/**
 * Most timing runs of one implementation (--repeat, and bench's --repeat): a median of 10,000
 * runs is as precise as timing gets; more only keeps the machine busy (a pass of a second would
 * time for hours). Check timing also stops at the time budget.
 */
export const MAX_REPEAT = 10_000;
/** Most untimed warm-up runs before bench times (--warmup): the JIT and caches settle within a few. */
export const MAX_WARMUP = 1_000;

/** Where a setting's flag is listed in `--help`. */
export type SettingGroup = 'inputs' | 'checking' | 'implementation';

/** A setting's value kinds beyond the scalar domains: a list of names, a NAME=PATH map. */
type SettingKind = Domain | { kind: 'list'; of: string } | { kind: 'map'; of: string };

/** One setting: everything about it, once. */
export interface SettingSpec<T> {
  /** The library option and suite field: `maxError`. */
  key: string;
  /** The flag without dashes: `max-error`. */
  flag: string;
  /** The value's placeholder in help: `<n>`, `<seconds>`; none for a boolean switch. */
  value?: string;
  domain: SettingKind;
  /** The value when the setting is absent (undefined: decided later, e.g. the layer's tolerance). */
  default: T;
  /** A suite entry's default when it differs from the layer command's. */
  suiteDefault?: T;
  /** What it does, for `--help` and the docs; `(default ...)` is appended from `default`. */
  help: string;
  /** How `--help` describes the default when `default` alone would not say it. */
  defaultText?: string;
  group: SettingGroup;
  /** True when a suite entry may set it. */
  suite: boolean;
  /** The setting this one only means something with (`timeout` needs `impl`). */
  requires?: string;
}

function setting<T>(spec: SettingSpec<T>): SettingSpec<T> {
  return spec;
}

/** Every check setting, in the order `--help` lists them within their groups. */
export const SETTINGS = {
  seed: setting<number>({
    key: 'seed',
    flag: 'seed',
    value: '<n>',
    domain: { kind: 'int', min: 0, max: MAX_SEED },
    default: DEFAULT_SEED,
    help: 'seed of the generated inputs and dout',
    group: 'inputs',
    suite: true,
  }),
  rng: setting<RngName>({
    key: 'rng',
    flag: 'rng',
    value: '<name>',
    domain: { kind: 'enum', choices: RNG_NAMES },
    default: 'default',
    help: 'generator of random inputs (numpy: identical to np.random.seed(seed); np.random.randn(...))',
    group: 'inputs',
    suite: true,
  }),
  init: setting<InitName>({
    key: 'init',
    flag: 'init',
    value: '<kind>',
    domain: { kind: 'enum', choices: INIT_NAMES },
    default: 'randn',
    help: 'fill generated inputs with random draws or np.linspace, as the cs231n notebooks do',
    group: 'inputs',
    suite: true,
  }),
  inputs: setting<string | undefined>({
    key: 'inputs',
    flag: 'inputs',
    value: '<path>',
    domain: { kind: 'string' },
    default: undefined,
    help: 'load inputs (and dout, and params from meta) from a fixture: .npz or a directory of .npy',
    group: 'inputs',
    suite: true,
  }),
  input: setting<Record<string, string>>({
    key: 'input',
    flag: 'input',
    value: '<name=path>',
    domain: { kind: 'map', of: 'NAME=PATH with NAME an input or dout' },
    default: {},
    help: 'load one input (or dout) from a .npy file; repeatable',
    defaultText: 'none',
    group: 'inputs',
    suite: true,
  }),
  maxBytes: setting<number | undefined>({
    key: 'maxBytes',
    flag: 'max-bytes',
    value: '<n>',
    domain: { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
    default: undefined,
    help: 'largest array data accepted from a file, in bytes',
    defaultText: '1 GiB',
    group: 'inputs',
    suite: true,
  }),
  checkMode: setting<CheckMode>({
    key: 'checkMode',
    flag: 'check-mode',
    value: '<mode>',
    domain: { kind: 'enum', choices: CHECK_MODES },
    default: 'auto',
    help: 'how much of each gradient to evaluate (auto: full when small, else directions + sampled elements within --budget)',
    group: 'checking',
    suite: true,
  }),
  samples: setting<number | undefined>({
    key: 'samples',
    flag: 'samples',
    value: '<k>',
    domain: { kind: 'int', min: 1, max: MAX_SAMPLES },
    default: undefined,
    help: 'elements per input of a sampled check',
    defaultText: String(DEFAULT_SAMPLES),
    group: 'checking',
    suite: true,
  }),
  directions: setting<number | undefined>({
    key: 'directions',
    flag: 'directions',
    value: '<k>',
    domain: { kind: 'int', min: 1, max: MAX_DIRECTIONS },
    default: undefined,
    help: 'random directions per input of a directional check',
    defaultText: `${DEFAULT_DIRECTIONS}; auto: ${AUTO_DIRECTIONS}`,
    group: 'checking',
    suite: true,
  }),
  budget: setting<number>({
    key: 'budget',
    flag: 'budget',
    value: '<seconds>',
    domain: { kind: 'float', min: 0, minExclusive: true, max: MAX_SECONDS },
    default: DEFAULT_BUDGET_SECONDS,
    help: "time budget for auto mode's samples, locating errors and timing",
    group: 'checking',
    suite: true,
  }),
  maxMemory: setting<number | undefined>({
    key: 'maxMemory',
    flag: 'max-memory',
    value: '<bytes>',
    domain: { kind: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
    default: undefined,
    help: "refuse work whose memory, estimated from the shapes and params before anything runs (inputs, outputs, copies, the kernels' workspace), exceeds this many bytes (8e9: 8 GB)",
    defaultText: "half of the machine's memory, or of its cgroup limit",
    group: 'checking',
    suite: true,
  }),
  dtype: setting<(typeof DTYPES)[number]>({
    key: 'dtype',
    flag: 'dtype',
    value: '<dtype>',
    domain: { kind: 'enum', choices: DTYPES },
    default: 'float64',
    help: 'run the layer in float64 or float32 (the numeric side is always float64)',
    group: 'checking',
    suite: true,
  }),
  h: setting<number>({
    key: 'h',
    flag: 'h',
    value: '<h>',
    domain: { kind: 'float', min: 0, minExclusive: true, max: 1 },
    default: DEFAULT_H,
    help: 'centred-difference step',
    group: 'checking',
    suite: true,
  }),
  maxError: setting<number | undefined>({
    key: 'maxError',
    flag: 'max-error',
    value: '<e>',
    domain: { kind: 'float', min: 0, minExclusive: true },
    default: undefined,
    help: 'threshold on the relative error',
    defaultText: "the layer's tolerance",
    group: 'checking',
    suite: true,
  }),
  strictKinks: setting<boolean>({
    key: 'strictKinks',
    flag: 'strict-kinks',
    domain: { kind: 'bool' },
    default: false,
    help: 'count elements at kinks (relu at 0, max-pool ties) in pass/fail',
    group: 'checking',
    suite: true,
  }),
  hSweep: setting<boolean>({
    key: 'hSweep',
    flag: 'h-sweep',
    domain: { kind: 'bool' },
    default: false,
    help: "also show each gradient's error over h = 1e-2 ... 1e-9 and the best h",
    group: 'checking',
    suite: true,
  }),
  repeat: setting<number>({
    key: 'repeat',
    flag: 'repeat',
    value: '<n>',
    domain: { kind: 'int', min: 0, max: MAX_REPEAT },
    default: 5,
    suiteDefault: 0,
    help: 'timing runs per implementation, 0 to skip timing',
    group: 'checking',
    suite: true,
  }),
  impls: setting<string[] | undefined>({
    key: 'impls',
    flag: 'impls',
    value: '<list>',
    domain: { kind: 'list', of: "names of the layer's implementations" },
    default: undefined,
    help: "the layer's own implementations to check, comma-separated: naive,fast",
    defaultText: 'all',
    group: 'checking',
    suite: true,
  }),
  impl: setting<string | undefined>({
    key: 'impl',
    flag: 'impl',
    value: '<path>',
    domain: { kind: 'string' },
    default: undefined,
    help: 'also check your own implementation, compared with the reference and timed: a numpy module (layers.py, cs231n function names; layers.py:FORWARD,BACKWARD picks two) or a JS/TS module exporting forward and backward',
    group: 'implementation',
    suite: true,
  }),
  timeout: setting<number>({
    key: 'timeout',
    flag: 'timeout',
    value: '<seconds>',
    domain: { kind: 'float', min: 0, minExclusive: true, max: MAX_SECONDS },
    default: DEFAULT_IMPL_TIMEOUT_SECONDS,
    help: 'seconds each forward or backward call of --impl may take before it counts as hanging',
    group: 'implementation',
    suite: true,
    requires: 'impl',
  }),
  python: setting<string | undefined>({
    key: 'python',
    flag: 'python',
    value: '<path>',
    domain: { kind: 'string' },
    default: undefined,
    help: "the Python interpreter that runs a numpy --impl (a virtualenv's bin/python)",
    defaultText: '$CNN_CHECK_PYTHON, else python3',
    group: 'implementation',
    suite: true,
    requires: 'impl',
  }),
} as const;

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<S> = S extends SettingSpec<infer T> ? T : never;
/** Every setting, parsed and defaulted: what a check runs with. */
export type CheckSettings = { -readonly [K in SettingKey]: ValueOf<(typeof SETTINGS)[K]> };

/** The settings in declaration order. */
export function settingList(): SettingSpec<unknown>[] {
  return Object.values(SETTINGS) as SettingSpec<unknown>[];
}

/** Every setting at its default (`suite`: a suite entry's defaults). */
export function defaultSettings(opts: { suite?: boolean } = {}): CheckSettings {
  const out: Record<string, unknown> = {};
  for (const s of settingList()) {
    const d = opts.suite && s.suiteDefault !== undefined ? s.suiteDefault : s.default;
    out[s.key] = typeof d === 'object' && d !== null ? structuredClone(d) : d;
  }
  return out as CheckSettings;
}

/** The domain of a setting in words, for messages and help. */
export function describeSetting(s: SettingSpec<unknown>): string {
  const d = s.domain;
  if (d.kind === 'list') return `a non-empty list of ${d.of}`;
  if (d.kind === 'map') return d.of;
  return describeDomain(d);
}

/**
 * Parse one raw value of setting `s`. `text`: from a flag (strings; a map entry as NAME=PATH,
 * repeated; a list comma-separated); otherwise from JSON (a list an array, a map an object).
 * `label` names it in messages: `--max-error`, `suite.json[2] (conv): maxError`.
 */
export function parseSetting(s: SettingSpec<unknown>, raw: unknown, label: string, text: boolean): unknown {
  const d = s.domain;
  const fail = (): never => {
    throw new ParamError(`${label}: expected ${describeSetting(s)}, got ${shown(raw)}`);
  };
  if (d.kind === 'list') {
    const items = text && typeof raw === 'string' ? raw.split(',').map((x) => x.trim()) : raw;
    if (!Array.isArray(items) || items.length === 0 || items.some((x) => typeof x !== 'string' || x === '')) fail();
    const list = items as string[];
    if (new Set(list).size !== list.length) throw new ParamError(`${label}: expected distinct names, got ${shown(list.join(','))}`);
    return list;
  }
  if (d.kind === 'map') {
    const entries: [string, unknown][] = [];
    if (text) {
      for (const item of Array.isArray(raw) ? raw : [raw]) {
        const eq = typeof item === 'string' ? item.indexOf('=') : -1;
        if (eq <= 0) throw new ParamError(`${label}: expected ${d.of}, got ${shown(item)}`);
        if (eq === (item as string).length - 1) throw new ParamError(`${label} ${clip(item as string)}: expected NAME=PATH with a path, got an empty path`);
        entries.push([(item as string).slice(0, eq), (item as string).slice(eq + 1)]);
      }
    } else {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail();
      entries.push(...Object.entries(raw as Record<string, unknown>));
    }
    const map: Record<string, string> = {};
    for (const [k, v] of entries) {
      if (typeof v !== 'string' || v === '') throw new ParamError(`${label}: ${shown(k)}: expected a path, got ${shown(v)}`);
      map[k] = v;
    }
    return map;
  }
  return parseValue(d, raw, label, text);
}

/**
 * Settings from raw values by key (a commander option bag, a suite entry): absent ones take
 * their defaults. `labelOf` names a setting in messages.
 */
export function parseSettings(
  raw: Record<string, unknown>,
  opts: { text: boolean; suite?: boolean; labelOf: (s: SettingSpec<unknown>) => string },
): CheckSettings {
  // How a message tells the user to add a setting: `--impl <path>` on the command line, an `impl` field in a suite.
  const addIt = (s: SettingSpec<unknown>) => (opts.text ? `--${s.flag}${s.value ? ` ${s.value}` : ''}` : `an "${s.key}" field`);
  const nameIt = (s: SettingSpec<unknown>) => (opts.text ? `--${s.flag}` : `"${s.key}"`);
  const out = defaultSettings({ suite: opts.suite }) as Record<string, unknown>;
  const given = (s: SettingSpec<unknown>) => raw[s.key] !== undefined;
  for (const s of settingList()) {
    if (!given(s)) continue;
    out[s.key] = parseSetting(s, raw[s.key], opts.labelOf(s), opts.text);
  }
  for (const s of settingList()) {
    const needed = s.requires === undefined ? undefined : settingList().find((r) => r.key === s.requires);
    if (needed && given(s) && !given(needed)) {
      throw new ParamError(`${opts.labelOf(s)}: applies to ${nameIt(needed)} only; add ${addIt(needed)}`);
    }
  }
  return out as CheckSettings;
}
