// Column memory (src/ring/column-memory.ts): the processes that compute start with the allocator
// settings that keep freed columns for reuse; outputs taken without zero-filling are still exact
// (streamed products over TLS, two rounds so the second reuses the first's memory); a node started
// without the settings says so.
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalCluster, type LocalCluster } from '../src/net/keys.js';
import { runOnLocalCluster } from '../src/net/cluster.js';
import { STREAM_LANES } from '../src/mpc/arith.js';
import { COLUMN_MALLOC_ENV, hasColumnMemory, withColumnMemory } from '../src/ring/column-memory.js';

const JOBS = new URL('./tls-jobs.js', import.meta.url).href;
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-colmem-'));
after(() => rmSync(root, { recursive: true, force: true }));
let cluster: LocalCluster;
before(async () => {
  cluster = await createLocalCluster(join(root, 'c'));
});

const without = () => {
  const env = { ...process.env };
  for (const k of Object.keys(COLUMN_MALLOC_ENV)) delete env[k];
  delete env.MOSAIK_COLUMN_MEMORY;
  return env;
};

describe('column memory', () => {
  it('adds the settings where none is set and keeps the operator\'s', () => {
    const env = withColumnMemory({ PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '1' });
    assert.equal(env.MALLOC_MMAP_MAX_, '65536');
    assert.equal(env.MALLOC_MMAP_THRESHOLD_, '33554432');
    assert.equal(env.MALLOC_TRIM_THRESHOLD_, '1');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
    // The operator's own tunables are kept, with huge pages added unless they chose otherwise.
    assert.equal(withColumnMemory({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    assert.equal(withColumnMemory({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0');
    assert.equal(hasColumnMemory({}), false);
    assert.equal(hasColumnMemory(env), true);
    assert.equal(hasColumnMemory({ MOSAIK_COLUMN_MEMORY: 'off' }), true);
  });

  it('job workers start with it, and streamed products and ANDs received into uninitialised columns (in place, or copied when late) are exact', async () => {
    const n = 2 * STREAM_LANES + 5; // three slices: the streamed path
    const res = await runOnLocalCluster({ dir: cluster.dir, job: { module: JOBS, export: 'columnMemory', args: { n, seed: 7 } }, timeoutMs: 120_000 });
    for (const { result: r } of res as unknown as { result: { party: number; mmapMax: string | null; trim: string | null; tunables: string | null; wrong: number; late: number } }[]) {
      assert.equal(r.mmapMax, COLUMN_MALLOC_ENV.MALLOC_MMAP_MAX_);
      assert.equal(r.trim, COLUMN_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_);
      assert.match(r.tunables ?? '', /glibc\.malloc\.hugetlb=1/);
      assert.equal(r.wrong, 0); // products (in place, and copied when a receive is posted late) and the streamed AND
      // Party 0 had posted its receives before its peer sent: every slice was decoded in place.
      if (r.party === 0) assert.equal(r.late, 3);
    }
  });

  it('a node started without it says so on its first line; with it, not', async () => {
    const run = (env: NodeJS.ProcessEnv) =>
      new Promise<string>((ok) => execFile(process.execPath, [MAIN, 'node', '--dir', join(root, 'no-cluster'), '--party', '0'], { env }, (_e, out, err) => ok(out + err)));
    const bare = await run(without());
    if (process.platform === 'linux') assert.match(bare.split('\n')[0]!, /^note: started without the column memory settings, .*env MALLOC_MMAP_MAX_=65536 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=268435456 GLIBC_TUNABLES=glibc\.malloc\.hugetlb=1 mosaik node/);
    const set = await run(withColumnMemory(without()));
    assert.doesNotMatch(set, /column memory settings/);
    const off = await run({ ...without(), MOSAIK_COLUMN_MEMORY: 'off' });
    assert.doesNotMatch(off, /column memory settings/);
  });
});
