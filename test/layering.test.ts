// Imports point one way (DESIGN.md; issue 12 "The node room"): no import circle anywhere in src;
// src/node layered routes → services → store with the shared HTTP helpers below them; no room
// imports a higher one (governance never reaches into demo, nothing below src/node imports it).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** module (path under src, .ts) → the modules it imports or re-exports (type-only imports included). */
function importGraph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts')) {
        const from = relative(SRC, p);
        const to = new Set<string>();
        for (const m of readFileSync(p, 'utf8').matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
          to.add(relative(SRC, normalize(join(dirname(p), m[1]!))).replace(/\.js$/, '.ts'));
        }
        g.set(from, to);
      }
    }
  };
  walk(SRC);
  return g;
}

/** Strongly connected components with more than one module (Tarjan). */
function circles(g: Map<string, Set<string>>): string[][] {
  let n = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, n);
    low.set(v, n++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const NODE_LAYERS: Record<string, number> = {
  // shared
  'node/errors.ts': 0,
  'node/http.ts': 0,
  'node/fastify-options.ts': 0,
  // store
  'node/store.ts': 0,
  'node/shares.ts': 0,
  'node/job-store.ts': 0,
  // services
  'node/privacy.ts': 1,
  'node/governance.ts': 1,
  'node/job-governance.ts': 1,
  'node/jobs.ts': 1,
  'node/ledger.ts': 1,
  'node/schedule.ts': 1,
  'node/citizens.ts': 1,
  'node/records.ts': 1,
  'node/record-cache.ts': 1,
  'node/cache-agreement.ts': 1,
  'node/byte-lru.ts': 1,
  'node/analysis-cache.ts': 1,
  'node/indicator-cache.ts': 1,
  'node/lineup-cache.ts': 1,
  'node/exists-cache.ts': 1,
  'node/mpc-session.ts': 1,
  'node/pro.ts': 1,
  // routes
  'node/access.ts': 2,
  'node/openapi.ts': 2,
  'node/context.ts': 2,
  'node/ledger-api.ts': 2,
  'node/governance-api.ts': 2,
  'node/api.ts': 2,
  'node/sealed-upload.ts': 2,
  'node/citizen-api.ts': 2,
  'node/record-api.ts': 2,
  'node/citizen-openapi.ts': 2,
  // the process
  'node/daemon.ts': 3,
  'node/worker.ts': 3,
};

describe('layering', () => {
  const g = importGraph();

  it('no import circle in src', () => {
    assert.deepEqual(circles(g), []);
  });

  it('src/node: routes → services → store, shared helpers at the bottom', () => {
    const bad: string[] = [];
    for (const [from, to] of g) {
      if (!from.startsWith('node/')) continue;
      assert.ok(from in NODE_LAYERS, `${from} has no layer in test/layering.test.ts`);
      for (const t of to) if (t.startsWith('node/') && NODE_LAYERS[t]! > NODE_LAYERS[from]!) bad.push(`${from} → ${t}`);
    }
    assert.deepEqual(bad, [], 'imports from a higher layer of src/node');
    // errors.ts and http.ts import no service or route; privacy.ts and store.ts only each other's kind.
    for (const m of ['node/errors.ts', 'node/http.ts']) for (const t of g.get(m)!) if (t.startsWith('node/')) assert.ok(NODE_LAYERS[t] === 0, `${m} → ${t}`);
  });

  it('no room imports a higher one', () => {
    const above: Record<string, string[]> = {
      ring: ['mpc', 'net', 'query', 'stats', 'ingest', 'governance', 'ledger', 'demo', 'node', 'cli'],
      mpc: ['query', 'stats', 'ingest', 'governance', 'ledger', 'demo', 'node', 'cli'],
      net: ['query', 'stats', 'ingest', 'governance', 'ledger', 'demo', 'node', 'cli'],
      query: ['governance', 'demo', 'node', 'cli'],
      ingest: ['demo', 'node', 'cli'],
      governance: ['demo', 'node', 'cli'],
      ledger: ['demo', 'node', 'cli'],
      demo: ['node', 'cli'],
      node: ['cli'],
    };
    const bad: string[] = [];
    for (const [from, to] of g) {
      const room = from.split('/')[0]!;
      for (const t of to) if (above[room]?.includes(t.split('/')[0]!)) bad.push(`${from} → ${t}`);
    }
    assert.deepEqual(bad, []);
  });
});
