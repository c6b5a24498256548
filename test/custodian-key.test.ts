// A custodian's share key made by several uploads at once (e.g. `mosaik ingest` of two registers of
// one custodian in parallel, as the governed demo does): every process ends up with the same key,
// none fails with EEXIST or reads a half-written file, and no temporary file is left.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const UPLOAD = fileURLToPath(new URL('../src/ingest/upload.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-ckey-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** One process that waits for the common start (so that all eight race for the file) and makes the key. */
function makeKey(path: string, start: number): Promise<{ code: number | null; out: string }> {
  const script = `const { loadCustodianKey } = await import(${JSON.stringify(UPLOAD)}); while (Date.now() < ${start}); const { key } = loadCustodianKey(${JSON.stringify(path)}, { create: true }); console.log(Buffer.from(key).toString('hex'));`;
  return new Promise((ok) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (out += b));
    child.on('exit', (code) => ok({ code, out: out.trim() }));
  });
}

describe('custodian share key', () => {
  it('made by eight processes at once: one key for all, no EEXIST, no temporary file left', async () => {
    for (let round = 0; round < 3; round++) {
      const dir = join(root, `r${round}`, 'custodians');
      const path = join(dir, 'sundhedsdatastyrelsen.key');
      const start = Date.now() + 1500; // after every process has loaded the module
      const got = await Promise.all(Array.from({ length: 8 }, () => makeKey(path, start)));
      for (const g of got) assert.equal(g.code, 0, g.out);
      const keys = new Set(got.map((g) => g.out));
      assert.equal(keys.size, 1, [...keys].join('\n'));
      assert.equal(readFileSync(path, 'utf8').trim(), [...keys][0]);
      assert.deepEqual(readdirSync(dir), ['sundhedsdatastyrelsen.key']);
    }
  });
});
