// The README's first command, small: three node daemons, three custodians uploading their
// registers as shares, the example studies in MPC next to the plaintext reference (DuckDB).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'mosaik-demo-'));
after(() => rmSync(root, { recursive: true, force: true }));

function mosaik(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    execFile(process.execPath, [MAIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

/** A failed run's output, the lines that say why first (CI shows only the start of a long message). */
function why(out: string): string {
  const lines = out.split('\n');
  const bad = lines.filter((l) => /✘|\bNO\b|DISAGREE|rror|fail|refused|no sign of life|not reached|timed out/i.test(l));
  return `${bad.join('\n')}\n--- last lines:\n${lines.slice(-40).join('\n')}\n--- whole output:\n${out}`;
}

describe('mosaik demo (the main job)', () => {
  it('ingests the registers, runs every study in MPC with output protection and agrees with the plaintext within the noise; a rerun starts fresh nodes', async () => {
    const dir = join(root, 'demo');
    const first = await mosaik('demo', '--citizens', '3000', '--dir', dir, '--no-web');
    assert.equal(first.code, 0, why(first.out));
    assert.match(first.out, /every released cell agrees with the plaintext within the noise the protection added/);
    for (const t of ['Type-2 diabetes', 'Statin', 'income quintile', 'Mean income', 'Hospital contacts']) assert.match(first.out, new RegExp(t));
    assert.match(first.out, /population version demo-3000-1: 3,000 rows × 6 columns shared; node-a stored, node-b stored, node-c stored/);
    // Every released number carries noise, and says how much.
    assert.match(first.out, /Protected result \(differential privacy ε = 0\.1\): each count ± \d+ \(95 %\)/);
    assert.match(first.out, /researcher 'epidemiologist' spent epsilon 0\.7 of 1/);
    // Governed: policies, one signed study approved by each custodian whose register it reads.
    assert.match(first.out, /consortium 'mosaik-demo' \(\d+ members, \d+ purposes\): each custodian's policy signed and registered; no consent register/);
    assert.match(first.out, /study 'registers-overview' \(8 queries, epsilon 1\) signed by epidemiologist, approved by cpr, sundhedsdatastyrelsen, dst/);
    // The example statistics (issue 13), by another researcher with a study of its own, beside R.
    assert.match(first.out, /study 'diabetes-survival' \(3 statistics, epsilon 1\) signed by statistician/);
    for (const t of ['logistic regression', 'Kaplan–Meier', 'log-rank', 'Cox regression']) assert.match(first.out, new RegExp(t));
    assert.match(first.out, /statistics: every estimate agrees with R within the noise the protection added( \(\d+ estimates? of fits that did not converge under the noise not compared: too few persons or events for this epsilon\))?; epsilon spent 1\.00/);
    // The nodes start empty on every run (keys kept): the same studies run again, with a fresh budget;
    // this time with the consent register (applied inside MPC; the reference leaves the same citizens
    // out), then, as `npm start` does, the web app on the demo cluster until Ctrl-C stops it and the nodes.
    const child = spawn(process.execPath, [MAIN, 'demo', '--citizens', '3000', '--dir', dir, '--web-port', '0', '--consent'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (out += b));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));
    const url = await new Promise<string>((ok, fail) => {
      const look = () => {
        const m = /the web app runs on the demo cluster: (http:\/\/\S+)/.exec(out);
        if (m) ok(m[1]!);
      };
      child.stdout.on('data', look);
      void exited.then(() => fail(new Error(`the demo exited before serving the app:\n${why(out)}`)));
    });
    assert.match(out, /population version demo-3000-1: 3,000 rows .* node-a stored, node-b stored, node-c stored/);
    assert.match(out, /consent register: [\d,]+ events, [\d,]+ citizens withdrew from public-health research/);
    assert.match(out, /every released cell agrees with the plaintext within the noise/);
    // The citizens' side (issue 15): citizens registered, how to sign in as each, and the doctors
    // (printed after the app's address, before the last line).
    while (!out.includes('Ctrl-C stops the app')) await new Promise((ok) => setTimeout(ok, 50));
    assert.match(out, /citizens: the consent register is in force .*; 3 citizens registered by 'consent-register'/);
    assert.equal((out.match(/citizen citizen-[0-9a-f]{16}: key file \S+\.ed25519\.key\.pem, person number \d{10}/g) ?? []).length, 3);
    assert.match(out, /doctors \(sign in at \/signin\): \S+dr-hansen\.ed25519\.key\.pem/);
    const gov = (await (await fetch(new URL('/api/nodes/0/v1/governance', url))).json()) as { governed: boolean; consortium: string };
    assert.deepEqual([gov.governed, gov.consortium], [true, 'mosaik-demo']);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Mosaik/);
    const info = (await (await fetch(new URL('/api/cluster', url))).json()) as { nodes: { name: string }[] };
    assert.deepEqual(info.nodes.map((n) => n.name), ['node-a', 'node-b', 'node-c']);
    const datasets = (await (await fetch(new URL('/api/nodes/0/v1/datasets', url))).json()) as { name: string }[];
    assert.ok(datasets.some((d) => d.name === 'population'));
    child.kill('SIGINT');
    assert.equal(await exited, 0, why(out));
    assert.match(out, /stopping the web app and the nodes/);
    await assert.rejects(fetch(url), 'the app is gone after Ctrl-C');
    const ps = await new Promise<string>((ok) => execFile('ps', ['-eo', 'args'], (_e, o) => ok(o)));
    assert.ok(!ps.split('\n').some((l) => l.includes(' node ') && l.includes(dir)), `node daemons still running:\n${ps}`);
  });
});
