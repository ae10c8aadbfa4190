/**
 * The layout the README describes, held by the code: no import cycle among the sources (type-only
 * imports aside: they are erased), nothing outside cli/ imports from cli/, and the terminal
 * libraries are imported by the terminal renderer alone.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Value imports of each file (`import type` and `export type` skipped), as paths under src or package names. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm)) {
    const spec = m[1];
    out.push(spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : spec);
  }
  // Dynamic imports are not part of the static graph (start.ts loads main.ts on demand).
  return out;
}

const files = sources(src);
const graph = new Map(files.map((f) => [f, imports(f)]));
const rel = (f: string) => relative(src, f);

describe('the source layout', () => {
  it('has no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map(rel).join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f) ?? []) if (graph.has(g)) visit(g, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('imports nothing from cli/ outside cli/ (the library never prints or exits)', () => {
    const up = files
      .filter((f) => !rel(f).startsWith('cli/') && rel(f) !== 'index.ts')
      .flatMap((f) =>
        graph
          .get(f)!
          .filter((g) => rel(g).startsWith('cli/'))
          .map((g) => `${rel(f)} -> ${rel(g)}`),
      );
    expect(up).toEqual([]);
  });

  it('imports chalk and cli-table3 in the terminal renderer only', () => {
    const users = files.filter((f) => graph.get(f)!.some((g) => g === 'chalk' || g === 'cli-table3')).map(rel);
    expect(users).toEqual(['report/terminal.ts']);
  });

  it('sees the imports it checks (the walker finds a known edge)', () => {
    expect(graph.get(join(src, 'cli/start.ts'))).toContain(join(src, 'cli/manifest.ts'));
  });
});

describe("the README's layout section", () => {
  it('shows a settings entry as the schema has it, and names files that exist', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const section = readme.slice(readme.indexOf('## Layout and where to add things'), readme.indexOf('## Documentation'));
    const { SETTINGS } = await import('../src/settings/schema.js');
    const snippet = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const seed = SETTINGS.seed as unknown as Record<string, unknown>;
    const domain = /domain: \{ kind: '(\w+)', min: (\d+)/.exec(snippet);
    expect(seed.domain).toMatchObject({ kind: domain?.[1], min: Number(domain?.[2]) });
    for (const [, key, value] of snippet.replace(/domain: \{[^}]*\}/, '').matchAll(/(\w+): '([^']*)'/g))
      expect(seed[key], `README's seed entry, ${key}`).toBe(value);
    expect(snippet).toContain(`suite: ${seed.suite}`);
    for (const [, path] of section.matchAll(/`(src\/[\w/.-]+)`/g)) expect(existsSync(join(src, '..', path)), path).toBe(true);
  });
});
