// Enforces DESIGN.md's dependency rules between src/ modules and finds import cycles.
// Run: npm run check:imports (CI runs it). Exits 1 with one line per violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';

const SRC = resolve(import.meta.dirname, '..', 'src');

// module -> the src modules it may import (itself is always allowed; src/errors.ts is a leaf anyone may use).
const ALLOWED: Record<string, readonly string[]> = {
  config: [],
  certs: [],
  translate: [],
  observability: [],
  kube: ['config', 'certs', 'translate', 'observability'],
  sync: ['kube', 'config', 'certs', 'translate', 'observability'],
  webhook: ['sync', 'kube', 'config', 'certs', 'translate', 'observability'],
  proxy: ['sync', 'kube', 'config', 'certs', 'translate', 'observability'],
  dns: ['kube', 'config', 'translate', 'observability'],
  local: ['certs', 'config', 'observability'],
  cli: ['*'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function moduleOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  return rel.length === 1 ? (rel[0] as string).replace(/\.ts$/, '') : rel[0] as string;
}

const graph = new Map<string, string[]>();
const problems: string[] = [];
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

for (const file of files(SRC)) {
  const text = readFileSync(file, 'utf8');
  const deps: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2]) as string;
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(SRC)) continue;
    deps.push(target);
    const from = moduleOf(file);
    const to = moduleOf(target);
    if (from === to || to === 'errors') continue;
    const allowed = ALLOWED[from];
    if (allowed === undefined) { problems.push(`${relative(SRC, file)}: module "${from}" has no rule in tools/check-imports.ts`); continue; }
    if (!allowed.includes('*') && !allowed.includes(to)) {
      problems.push(`${relative(SRC, file)}: "${from}" may not import "${to}" (${spec})`);
    }
  }
  graph.set(file, deps);
}

// Cycles: depth-first search with colours; report each cycle once by its smallest rotation.
const state = new Map<string, 'open' | 'done'>();
const stack: string[] = [];
const seen = new Set<string>();
function visit(f: string): void {
  state.set(f, 'open');
  stack.push(f);
  for (const d of graph.get(f) ?? []) {
    if (state.get(d) === 'open') {
      const cycle = stack.slice(stack.indexOf(d)).map((x) => relative(SRC, x));
      const key = [...cycle].sort().join(' ');
      if (!seen.has(key)) { seen.add(key); problems.push(`import cycle: ${[...cycle, cycle[0]].join(' -> ')}`); }
    } else if (!state.has(d) && graph.has(d)) {
      visit(d);
    }
  }
  stack.pop();
  state.set(f, 'done');
}
for (const f of graph.keys()) if (!state.has(f)) visit(f);

if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exitCode = 1;
} else {
  process.stdout.write(`imports ok: ${graph.size} files, no cycles, module rules hold\n`);
}
