#!/usr/bin/env node
/**
 * How long the CLI takes to answer what needs no check, against a bare `node -e 0`:
 *
 *   npm run build && node bench/startup.mjs [--rounds K] [--json]
 *
 * Each round runs every command once, in turn with `node -e 0`, so load from other processes
 * that comes and goes hits both; each command's time is its median (and minimum) over the
 * rounds, and the ratio is median / median of the bare node. The commands: the top-level help,
 * a layer command's help, `list`, `--version`, a failing flag (answered from the manifest by
 * dist/cli/start.js), and a whole check (`relu --repeat 0`, which loads the layers).
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] ?? 0) || 30;
const asJson = args.includes('--json');
const bin = join(root, 'bin', 'cnn-check.js');

const COMMANDS = [
  ['node -e 0', ['-e', '0']],
  ['cnn-check --help', [bin, '--help']],
  ['cnn-check conv --help', [bin, 'conv', '--help']],
  ['cnn-check list', [bin, 'list']],
  ['cnn-check --version', [bin, '--version']],
  ['cnn-check conv --bogus', [bin, 'conv', '--bogus']],
  ['cnn-check relu --repeat 0', [bin, 'relu', '--repeat', '0']],
];

function time(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, argv, { stdio: 'ignore', env: { ...process.env, COLUMNS: '80' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return ms;
}

const samples = COMMANDS.map(() => []);
const load = [loadavg()[0]];
for (let k = 0; k < rounds; k++) COMMANDS.forEach(([, argv], i) => samples[i].push(time(argv)));
load.push(loadavg()[0]);

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const bare = median(samples[0]);
const rows = COMMANDS.map(([name], i) => ({ command: name, medianMs: median(samples[i]), minMs: Math.min(...samples[i]), ratio: median(samples[i]) / bare }));

if (asJson) {
  console.log(JSON.stringify({ node: process.version, cpus: cpus().length, rounds, loadavg: load, rows }, null, 2));
} else {
  console.log(`node ${process.version}, ${cpus().length} CPUs, ${rounds} rounds, load average ${load[0].toFixed(2)} -> ${load[1].toFixed(2)}`);
  console.log('| command | median ms | min ms | median / bare node |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| \`${r.command}\` | ${r.medianMs.toFixed(0)} | ${r.minMs.toFixed(0)} | ${r.ratio.toFixed(2)} |`);
}
