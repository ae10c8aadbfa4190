/**
 * The README and docs/ stay true: the README within its size, every relative link and anchor
 * resolving, every `cnn-check` command in a fenced `sh` block naming a real command with real
 * flags (checked against the CLI's own manifest), the blocks marked `sh run` run as shown, and the
 * TypeScript snippets of the library page type-check against the sources.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type TS from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { cliManifest } from '../src/cli/main.js';
import type { CommandRecord } from '../src/cli/manifest.js';
import { run } from './helpers/io.js';

const root = fileURLToPath(new URL('..', import.meta.url));
// Required, not imported: an import of the 9 MB CommonJS file first scans all of it for named exports (~0.4 s).
const ts = createRequire(import.meta.url)('typescript') as typeof TS;
const PAGES = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
/** The README is read in two minutes: 15 KB at most. */
const README_MAX_BYTES = 15 * 1024;

const text = (page: string) => readFileSync(join(root, page), 'utf8');

interface Block {
  page: string;
  info: string;
  body: string;
  line: number;
}

function blocks(page: string): Block[] {
  const out: Block[] = [];
  const lines = text(page).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(open[1].length));
    out.push({ page, info: open[2].trim(), body: body.join('\n'), line: i + 1 });
    i = j;
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fence = false;
  for (const l of text(page).split('\n')) {
    if (/^\s*```/.test(l)) fence = !fence;
    const m = !fence && /^#{1,6}\s+(.*)$/.exec(l);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

/** The `cnn-check ...` invocations of a shell block, as argument lists. */
function invocations(body: string): { args: string[]; comment: string }[] {
  const out: { args: string[]; comment: string }[] = [];
  for (const raw of body.split('\n')) {
    const hash = raw.search(/\s#\s|^#/);
    const code = (hash >= 0 ? raw.slice(0, hash) : raw).replace(/^\$\s*/, '');
    const comment = hash >= 0 ? raw.slice(hash) : '';
    for (const part of code.split(/&&|\|\||;|\|/)) {
      const words: string[] = part.trim().match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
      let k = words.indexOf('cnn-check');
      if (k < 0) continue;
      if (k > 0 && !['npx', '--no-install', '--yes'].includes(words[k - 1]) && !words[k - 1].startsWith('--package')) continue;
      const args = words
        .slice(k + 1)
        .map((w) => w.replace(/^['"]|['"]$/g, ''))
        .filter((w) => !w.startsWith('>') && !w.startsWith('<'));
      // Output redirections and their targets.
      const cut = words.slice(k + 1).findIndex((w) => w === '>' || w === '2>' || w === '>>');
      out.push({ args: cut >= 0 ? args.slice(0, cut) : args, comment });
      k = -1;
    }
  }
  return out;
}

const manifest = cliManifest();

/** The command an argument list names and the flags it may take. */
function commandOf(args: string[]): { cmd: CommandRecord; path: string[]; rest: string[] } | string {
  let cmd = manifest.program;
  const path: string[] = [];
  let i = 0;
  while (i < args.length && !args[i].startsWith('-')) {
    const sub = cmd.commands.find((c) => c.name === args[i] || c.aliases.includes(args[i]));
    if (!sub) break;
    cmd = sub;
    path.push(args[i]);
    i++;
  }
  if (path.length === 0 && args.length && !args[0].startsWith('-')) return `unknown command '${args[0]}'`;
  return { cmd, path, rest: args.slice(i) };
}

function flagsOf(cmd: CommandRecord): Set<string> {
  const flags = new Set(['--help', '-h']);
  for (const o of cmd.options) for (const f of o.flags.split(/[ ,|]+/)) if (f.startsWith('-')) flags.add(f);
  return flags;
}

const dir = mkdtempSync(join(tmpdir(), 'cnn-check-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the README', () => {
  it(`is at most ${README_MAX_BYTES} bytes, with a table of contents`, () => {
    expect(Buffer.byteLength(text('README.md'))).toBeLessThanOrEqual(README_MAX_BYTES);
    expect(text('README.md')).toMatch(/\n## Contents\n/);
  });

  it('shows the two set-up commands of the product: install and check, and the tests', () => {
    expect(text('README.md')).toContain('npm install && npx cnn-check conv --stride 2 --pad 1');
    expect(text('README.md')).toContain('npm test');
  });

  it('links every page of docs/', () => {
    for (const page of PAGES.filter((p) => p.startsWith('docs/'))) expect(text('README.md'), page).toContain(`](${page}`);
  });
});

describe('README.md and docs/', () => {
  it('every relative link and anchor resolves', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      let fence = false;
      for (const l of text(page).split('\n')) {
        if (/^\s*```/.test(l)) fence = !fence;
        if (fence) continue;
        for (const m of l.matchAll(/\]\(([^)\s]+)\)/g)) {
          const target = m[1];
          if (/^[a-z]+:/.test(target)) continue;
          const [file, anchor] = target.split('#');
          const resolved = file ? resolve(dirname(join(root, page)), file) : join(root, page);
          if (!existsSync(resolved)) broken.push(`${page}: ${target} (no such file)`);
          else if (anchor && resolved.endsWith('.md') && !anchors(resolved.slice(root.length)).has(anchor)) broken.push(`${page}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('every cnn-check command in a shell block names a real command and real flags', () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const page of PAGES) {
      for (const b of blocks(page).filter((x) => /^(sh|bash|shell)\b/.test(x.info))) {
        for (const { args } of invocations(b.body)) {
          seen++;
          const found = commandOf(args);
          if (typeof found === 'string') {
            wrong.push(`${page}:${b.line}: ${found}`);
            continue;
          }
          const flags = flagsOf(found.cmd);
          for (const a of found.rest) {
            const flag = a.split('=')[0];
            if (flag.startsWith('--') && !flags.has(flag)) wrong.push(`${page}:${b.line}: cnn-check ${found.path.join(' ')}: no flag ${flag}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(seen).toBeGreaterThan(40);
  });

  it('the blocks marked `sh run` run as shown (exit 0, or the exit their comment says)', async () => {
    // In-process, through the bin's entry (start.ts), from the repository as the docs' relative
    // paths assume; the bin script itself is spawned in test/cli/spawn.test.ts.
    expect(resolve(process.cwd())).toBe(resolve(root));
    const ran: string[] = [];
    for (const page of PAGES) {
      for (const b of blocks(page).filter((x) => /^sh run\b/.test(x.info))) {
        for (const { args, comment } of invocations(b.body)) {
          const expected = Number(/exits? (\d)/.exec(comment)?.[1] ?? 0);
          const r = await run(
            args.map((a) => a.replace(/^(\S+)\.(npz|html|xml|json)$/, (f) => (existsSync(join(root, f)) ? f : join(dir, f)))),
            {
              env: { COLUMNS: '80', NO_COLOR: '1', GITHUB_ACTIONS: '' },
            },
          );
          expect(r.code, `${page}:${b.line}: cnn-check ${args.join(' ')}: ${r.stderr}`).toBe(expected);
          ran.push(args.join(' '));
        }
      }
    }
    expect(ran.length).toBeGreaterThanOrEqual(3);
  });

  it("the library page's TypeScript snippets type-check against the package's declarations", () => {
    const snippets = blocks('docs/library.md').filter((b) => b.info === 'ts');
    expect(snippets.length).toBeGreaterThanOrEqual(4);
    // `from 'cnn-check'` is what an installed package resolves it to: the built dist/index.d.ts
    // (current: test/setup/dist-fresh.ts), which is also a smaller program than the sources.
    const files = snippets.map((b, i) => {
      const f = join(root, 'test', `.docs-snippet-${process.pid}-${i}.ts`);
      writeFileSync(f, `${b.body.replace(/from 'cnn-check'/g, "from '../dist/index.js'")}\nexport {};\n`);
      return f;
    });
    try {
      const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.test.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
      const program = ts.createProgram(files, { ...config.options, noEmit: true, noUnusedLocals: false });
      // The snippets' own diagnostics (syntactic, semantic, declaration): those of the sources they
      // import are the type check's (npm run typecheck), and computing them all took seconds.
      const diagnostics = files.flatMap((f) => ts.getPreEmitDiagnostics(program, program.getSourceFile(f)));
      const errors = diagnostics
        .filter((d) => d.file && files.includes(d.file.fileName))
        .map((d) => {
          const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
          return `snippet ${files.indexOf(d.file!.fileName) + 1}, line ${line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
        });
      expect(errors).toEqual([]);
    } finally {
      for (const f of files) rmSync(f, { force: true });
    }
  });
});
