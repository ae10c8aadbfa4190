/**
 * What `--help` adds to commander's option list: examples for every command, the exit codes,
 * and the page of the docs that explains it (a path in the installed package), wrapped to the
 * terminal. The commands' groups in the top-level help are here too.
 */
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { wrapText } from '../text/wrap.js';

/** The exit codes, as every command's help states them. */
export const EXIT_CODES_HELP = 'Exit codes: 0 every check passed, 1 a check failed, 2 bad input (a flag, a file, a shape), 3 an internal error.';

/** Headings of the command groups in `cnn-check --help`. */
export const COMMAND_GROUPS = {
  layers: 'Check a layer (one command per layer):',
  code: 'Check your own code:',
  fixtures: 'Fixtures from Python:',
  ci: 'CI and speed:',
  other: 'Other:',
} as const;

/** The path of a page of the docs in this installation. */
export function docPath(page: string): string {
  return fileURLToPath(new URL(`../../docs/${page}`, import.meta.url));
}

/** Examples and the doc page of each command that is not a layer command. */
const COMMAND_HELP: Record<string, { examples: string[]; doc: string }> = {
  grade: {
    examples: [
      'cnn-check grade cs231n/layers.py                 # every layer the file defines',
      'cnn-check grade cs231n/layers.py --layers conv,maxpool --quick',
      'cnn-check grade cs231n/layers.py --watch         # again after every save',
    ],
    doc: 'grade.md',
  },
  compare: {
    examples: ['cnn-check compare my_conv.npz                    # a fixture saved with save_fixture', 'cnn-check compare fixtures/*.npz --junit compare.xml'],
    doc: 'fixtures.md',
  },
  export: {
    examples: ['cnn-check export conv --stride 2 --out conv_s2.npz', 'cnn-check export batchnorm --x-shape 8,5 --rng numpy --seed 231 --out bn.npz'],
    doc: 'fixtures.md',
  },
  inspect: { examples: ['cnn-check inspect my_conv.npz', 'cnn-check inspect my_conv.npz --json'], doc: 'fixtures.md' },
  suite: {
    examples: [
      'cnn-check suite                                  # the built-in suite over every layer',
      'cnn-check suite ci/cnn-check.json --junit cnn-check.xml',
      'cnn-check suite ci/cnn-check.json --shard 2/3 --json > shard-2.json',
    ],
    doc: 'ci.md',
  },
  'merge-reports': {
    examples: ['cnn-check merge-reports shard-1.json shard-2.json shard-3.json --junit all.xml --report all.html'],
    doc: 'ci.md',
  },
  bench: {
    examples: [
      'cnn-check bench conv maxpool --dtype both',
      'cnn-check bench conv --impl conv.mjs --save base.json',
      'cnn-check bench --baseline base.json --max-slowdown 1.25',
    ],
    doc: 'benchmarks.md',
  },
  list: { examples: ['cnn-check list', 'cnn-check list --json'], doc: 'checking.md' },
};

/** Examples of a layer command. */
function layerExamples(name: string, paramFlag: string | undefined): string[] {
  return [
    `cnn-check ${name}${paramFlag ? ` ${paramFlag}` : ''}`,
    `cnn-check ${name} --impl my_${name.replace(/-/g, '_')}.py   # your numpy (or .mjs/.ts) implementation`,
    `cnn-check ${name} --check-mode sampled --json`,
  ];
}

/** The text after a command's options: examples, exit codes, where the docs are; wrapped to `width`. */
export function helpAfter(cmd: Command, width: number, layer?: { paramFlag?: string }): string {
  const h = layer
    ? { examples: layerExamples(cmd.name(), layer.paramFlag), doc: 'checking.md' }
    : COMMAND_HELP[cmd.parent?.name() === 'export' ? 'export' : cmd.name()];
  if (!h) return '';
  const lines = [
    '',
    'Examples:',
    ...h.examples.map((e) => wrapText(`  ${e}`, width, '      ')),
    '',
    wrapText(EXIT_CODES_HELP, width, '  '),
    wrapText(`Docs: ${docPath(h.doc)}`, width, '  '),
  ];
  return `${lines.join('\n')}\n`;
}

/** The text after the top-level command list. */
export function programHelpAfter(width: number): string {
  return [
    '',
    'Start here:',
    wrapText('  cnn-check grade cs231n/layers.py    # a whole numpy layers file', width, '      '),
    wrapText('  cnn-check conv --impl my_conv.py    # one layer of yours (numpy, .mjs, .ts)', width, '      '),
    wrapText('  cnn-check conv --stride 2 --pad 1   # the reference conv itself', width, '      '),
    '',
    wrapText(EXIT_CODES_HELP, width, '  '),
    wrapText(`Docs: ${docPath('')} (start with README.md one level up); cnn-check <command> --help for a command.`, width, '  '),
    '',
  ].join('\n');
}
