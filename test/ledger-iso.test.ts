// The transparency log's verifying side runs in the CLI and in the browser (src/ledger without Node
// built-ins: @noble/hashes SHA-256, @noble/curves Ed25519). Property tests (fast-check) that it
// gives the same answers as before, when it used node:crypto: the previous verify.ts, merkle.ts and
// heads.ts are kept frozen in test/reference/ledger-v0/ and run side by side with the new code on
// random logs, random tampering (changed, removed, reordered, duplicated, cut-off and garbled
// entries; forged, missing, copied and foreign signatures; forks) and random proofs. Also Ed25519
// verification against OpenSSL's on random and corrupted signatures, and the byte helpers.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalJson, type EntryKind, type JsonValue, type LedgerEntry } from '../src/ledger/entry.js';
import { headMessage, type SignedHead, type TreeHead } from '../src/ledger/heads.js';
import { signHead } from '../src/ledger/heads-sign.js';
import { setPlatformEd25519, verifyEd25519, signingKeyBytes } from '../src/ledger/ed25519.js';
import { verifyWithOpenSsl } from '../src/ledger/ed25519-openssl.js';
import { fromBase64, utf8Length, toHex } from '../src/ledger/bytes.js';
import * as now from '../src/ledger/merkle.js';
import { compareReplicas, headSignatureChecks, verifyReplica, type ReplicaInput, type ReplicaReport, type TrustAnchor } from '../src/ledger/verify.js';
import { auditLog } from '../src/ledger/audit.js';
import { shareCommitment, sqlSha256 } from '../src/ledger/commit.js';
import * as before from './reference/ledger-v0/merkle.js';
import * as beforeVerify from './reference/ledger-v0/verify.js';
import { generateSigningKey, signingPublicKey, type SigningKey } from '../src/net/keys.js';

const keys: SigningKey[] = [generateSigningKey(), generateSigningKey(), generateSigningKey()];
const intruder = generateSigningKey();
const NAMES = ['node-a', 'node-b', 'node-c'] as const;
const anchor: TrustAnchor = { cluster: 'test', keys: keys.map((k) => k.publicKey) as [string, string, string], names: NAMES };
const hex = (s: string) => createHash('sha256').update(s).digest('hex');
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

// ---------------------------------------------------------------------------------------------
// Ed25519 against OpenSSL

describe('Ed25519 verification (@noble/curves) agrees with node:crypto', () => {
  const privs = keys.map((k) => createPrivateKey(k.privateKeyPem));
  const pubs = keys.map((k) => signingPublicKey(k.publicKey));
  const le = (b: Uint8Array) => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const toLe = (n: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));

  it('on valid, corrupted, non-canonical and foreign signatures', () => {
    const mutation = fc.oneof(
      fc.constant({ t: 'none' as const }),
      fc.record({ t: fc.constant('sig-bit' as const), bit: fc.integer({ min: 0, max: 511 }) }),
      fc.record({ t: fc.constant('msg-bit' as const), bit: fc.nat() }),
      fc.constant({ t: 's-plus-L' as const }),
      fc.record({ t: fc.constant('random' as const), bytes: fc.uint8Array({ minLength: 64, maxLength: 64 }) }),
      fc.record({ t: fc.constant('other-key' as const), k: fc.integer({ min: 1, max: 2 }) }),
      fc.record({ t: fc.constant('short' as const), n: fc.integer({ min: 0, max: 63 }) }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 2 }), mutation, (msg, k, m) => {
        let sig = new Uint8Array(sign(null, msg, privs[k]!));
        let message = msg;
        let key = k;
        if (m.t === 'sig-bit') sig[m.bit >> 3]! ^= 1 << (m.bit & 7);
        if (m.t === 'msg-bit' && msg.length) (message = msg.slice())[(m.bit >> 3) % msg.length]! ^= 1 << (m.bit & 7);
        if (m.t === 's-plus-L') {
          const s = le(sig.subarray(32)) + L;
          if (s < 2n ** 256n) sig.set(toLe(s), 32);
        }
        if (m.t === 'random') sig = m.bytes;
        if (m.t === 'other-key') key = (k + m.k) % 3;
        if (m.t === 'short') sig = sig.slice(0, m.n);
        let openssl: boolean;
        try {
          openssl = verify(null, message, pubs[key]!, sig);
        } catch {
          openssl = false;
        }
        assert.equal(verifyEd25519(keys[key]!.publicKey, message, sig), openssl, JSON.stringify(m));
        if (m.t === 'none') assert.equal(openssl, true);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same answers with OpenSSL installed as the platform verifier (the daemons and the CLI)', () => {
    const ed = (text: string) => `ed25519:${Buffer.from(text, 'hex').toString('base64url')}`;
    // The identity point (small order) and a non-canonical y (p + 1): refused before any equation.
    const refused = [ed('01' + '00'.repeat(31)), ed('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')];
    const cases = fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 511 }));
    fc.assert(
      fc.property(cases, ([msg, k, how, bit]) => {
        const sig = new Uint8Array(sign(null, msg, privs[k]!));
        let key = keys[k]!.publicKey;
        if (how === 1) sig[bit >> 3]! ^= 1 << (bit & 7);
        if (how === 2) key = keys[(k + 1) % 3]!.publicKey;
        if (how === 3) sig.set(toLe(le(sig.subarray(32)) + L), 32);
        if (how === 4) key = refused[bit % 2]!;
        const noble = verifyEd25519(key, msg, sig);
        setPlatformEd25519(verifyWithOpenSsl);
        try {
          assert.equal(verifyEd25519(key, msg, sig), noble, `case ${how}`);
        } finally {
          setPlatformEd25519(null);
        }
        if (how === 0) assert.equal(noble, true);
        if (how >= 3) assert.equal(noble, false);
      }),
      { numRuns: 300 },
    );
  });

  it('reads cluster.json keys (base64url and standard base64) and refuses anything else', () => {
    const k = keys[0]!.publicKey;
    const raw = Buffer.from(k.slice('ed25519:'.length), 'base64url');
    assert.deepEqual(signingKeyBytes(k), new Uint8Array(raw));
    assert.deepEqual(signingKeyBytes(`ed25519:${raw.toString('base64')}`), new Uint8Array(raw));
    for (const bad of ['', 'ed25519:', k.slice(1), `${k}A`, 'x25519:' + k.slice(8)]) assert.equal(signingKeyBytes(bad), undefined, bad);
    const msg = new Uint8Array([1, 2, 3]);
    const sig = new Uint8Array(sign(null, msg, createPrivateKey(keys[0]!.privateKeyPem)));
    assert.equal(verifyEd25519(k, msg, sig), true);
    assert.equal(verifyEd25519('ed25519:' + 'A'.repeat(43), msg, sig), false, 'the identity point is of small order');
    assert.equal(verifyEd25519('not a key', msg, sig), false);
  });
});

// ---------------------------------------------------------------------------------------------
// Bytes, hashes, commitments

describe('byte helpers and commitments agree with Buffer and node:crypto', () => {
  it('UTF-8 lengths, base64', () => {
    const anyUtf16 = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((a) => String.fromCharCode(...a));
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), anyUtf16), (s) => assert.equal(utf8Length(s), Buffer.byteLength(s, 'utf8'))));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const buf = Buffer.from(b);
        assert.deepEqual(fromBase64(buf.toString('base64')), new Uint8Array(b));
        assert.deepEqual(fromBase64(buf.toString('base64url')), new Uint8Array(b));
        assert.equal(toHex(b), buf.toString('hex'));
      }),
    );
    for (const bad of ['A', 'AB=C', '****', 'QQ=x', 'QR==']) assert.equal(fromBase64(bad), undefined, bad);
  });

  it('SQL hashes and share commitments', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), { maxLength: 5 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (sql, a, salt) => {
        assert.equal(sqlSha256(sql), createHash('sha256').update(Buffer.from(sql, 'utf8')).digest('hex'));
        const s = Buffer.from(salt).toString('hex');
        const pair = { job: 'j', party: 1, a, b: [...a].reverse() };
        const want = createHash('sha256').update('mosaik-result-share-v1\n').update(salt).update(canonicalJson(pair)).digest('hex');
        assert.equal(shareCommitment(pair, s), want);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Merkle trees and proofs (RFC 9162 §2.1)

describe('Merkle trees and proofs agree with the node:crypto implementation', () => {
  it('roots, inclusion and consistency proofs, and their verification (also of corrupted proofs)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 })), { minLength: 1, maxLength: 80 }), fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, flip) => {
        const t1 = new now.MerkleTree();
        const t0 = new before.MerkleTree();
        for (const l of leaves) {
          t1.append(l);
          t0.append(l);
        }
        const n = leaves.length;
        const size = 1 + (a % n);
        const m = b % size;
        assert.equal(toHex(now.leafHash(leaves[m]!)), before.toHex(before.leafHash(leaves[m]!)));
        assert.equal(now.toHex(t1.root(size)), before.toHex(t0.root(size)));
        const p1 = t1.inclusionProof(m, size);
        assert.deepEqual(p1.map(now.toHex), t0.inclusionProof(m, size).map(before.toHex));
        const first = 1 + (flip % size);
        const c1 = t1.consistencyProof(first, size);
        assert.deepEqual(c1.map(now.toHex), t0.consistencyProof(first, size).map(before.toHex));
        // Verification, of the right proof and of a corrupted one, gives the same verdicts.
        const bad = p1.map((x) => x.slice());
        if (bad.length) bad[flip % bad.length]![flip % 32]! ^= 1 + (flip % 255);
        for (const proof of [p1, bad, p1.slice(1)]) {
          for (const [idx, sz] of [[m, size], [(m + 1) % size, size], [m, Math.min(n, size + 1)]] as const) {
            assert.equal(now.verifyInclusion(t1.leafHash(m), idx, sz, proof, t1.root(size)), before.verifyInclusion(t0.leafHash(m), idx, sz, proof.map((x) => Buffer.from(x)), t0.root(size)));
          }
        }
        const cbad = c1.map((x) => x.slice());
        if (cbad.length) cbad[0]![flip % 32]! ^= 1;
        for (const proof of [c1, cbad, c1.slice(0, -1)]) {
          assert.equal(now.verifyConsistency(first, size, t1.root(first), t1.root(size), proof), before.verifyConsistency(first, size, t0.root(first), t0.root(size), proof.map((x) => Buffer.from(x))));
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Whole replicas: random logs, random tampering, old and new verifier side by side

const KINDS: EntryKind[] = ['study-submitted', 'study-approved', 'policy-published', 'consent-changed', 'job-run', 'result-released'];
const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const time = (i: number) => new Date(Date.parse('2025-03-01T10:00:00.000Z') + i * 1000).toISOString();

function body(kind: EntryKind, i: number, x: number): { [k: string]: JsonValue } {
  switch (kind) {
    case 'job-run':
      return { job: uuid(i), jobSeq: i, dataset: 'visits', version: `v${x % 3}`, sqlSha256: hex(`sql${x}`), minCellSize: 5, requester: 'researcher', protection: x % 4 ? { kind: 'dp', mechanism: 'laplace', epsilon: 0.1 } : { kind: 'none' } };
    case 'result-released':
      return { job: uuid(x % 2 ? i - 1 : i + 1000), resultMeta: hex(`m${x}`), shareCommitments: [hex(`a${x}`), hex(`b${x}`), hex(`c${x}`)] };
    case 'consent-changed':
      return { dataset: 'consent', version: `consent-v${x}`, rows: x, changes: 2, granted: 1, withdrawn: 1, purposes: ['public-health'], commitments: [hex(`c${x}`)], time: time(i - 1) };
    default:
      return { study: `study-${x}`, studyHash: hex(`study ${x}`), purpose: 'prevalence', datasets: ['visits'] };
  }
}

interface Log {
  entryLines: string[];
  heads: SignedHead[];
}

const coSign = (h: TreeHead, who: (SigningKey | undefined)[] = keys): SignedHead => ({ ...h, signatures: who.flatMap((k, p) => (k ? [signHead(h, p as 0 | 1 | 2, k.privateKeyPem)] : [])) });

function buildLog(items: { kind: number; x: number; head: boolean }[], variant = ''): Log {
  const tree = new now.MerkleTree();
  const entryLines: string[] = [];
  const heads: SignedHead[] = [];
  items.forEach((it, i) => {
    const kind = KINDS[it.kind % KINDS.length]!;
    const e: LedgerEntry = { seq: i, time: time(i), kind, body: { ...body(kind, i, it.x), ...(variant && i === items.length - 1 ? { variant } : {}) } };
    const line = canonicalJson(e);
    entryLines.push(line);
    tree.append(line);
    if (it.head || i === items.length - 1) heads.push(coSign({ cluster: 'test', size: i + 1, rootHash: now.toHex(tree.root()), timestamp: time(i) }));
  });
  return { entryLines, heads };
}

type Op =
  | { op: 'change-entry'; i: number; x: number }
  | { op: 'delete-entry'; i: number }
  | { op: 'swap-entries'; i: number; j: number }
  | { op: 'duplicate-entry'; i: number }
  | { op: 'truncate-entries'; k: number }
  | { op: 'uncanonical'; i: number }
  | { op: 'garble-entry'; i: number }
  | { op: 'renumber'; i: number; d: number }
  | { op: 'partial'; text: string; heads: boolean }
  | { op: 'flip-signature'; h: number; p: number; bit: number }
  | { op: 'drop-signature'; h: number; p: number }
  | { op: 'copy-signature'; h: number; from: number }
  | { op: 'intruder'; h: number; p: number }
  | { op: 'change-root'; h: number }
  | { op: 'delete-head'; h: number }
  | { op: 'swap-heads'; h: number; g: number }
  | { op: 'other-cluster'; h: number }
  | { op: 'garble-head'; h: number }
  | { op: 'truncate-heads'; k: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('change-entry' as const), i: fc.nat(), x: fc.nat(1000) }),
  fc.record({ op: fc.constant('delete-entry' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('swap-entries' as const), i: fc.nat(), j: fc.nat() }),
  fc.record({ op: fc.constant('duplicate-entry' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('truncate-entries' as const), k: fc.nat() }),
  fc.record({ op: fc.constant('uncanonical' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('garble-entry' as const), i: fc.nat() }),
  fc.record({ op: fc.constant('renumber' as const), i: fc.nat(), d: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ op: fc.constant('partial' as const), text: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.includes('\n')), heads: fc.boolean() }),
  fc.record({ op: fc.constant('flip-signature' as const), h: fc.nat(), p: fc.nat(2), bit: fc.nat(511) }),
  fc.record({ op: fc.constant('drop-signature' as const), h: fc.nat(), p: fc.nat(2) }),
  fc.record({ op: fc.constant('copy-signature' as const), h: fc.nat(), from: fc.nat() }),
  fc.record({ op: fc.constant('intruder' as const), h: fc.nat(), p: fc.nat(2) }),
  fc.record({ op: fc.constant('change-root' as const), h: fc.nat() }),
  fc.record({ op: fc.constant('delete-head' as const), h: fc.nat() }),
  fc.record({ op: fc.constant('swap-heads' as const), h: fc.nat(), g: fc.nat() }),
  fc.record({ op: fc.constant('other-cluster' as const), h: fc.nat() }),
  fc.record({ op: fc.constant('garble-head' as const), h: fc.nat() }),
  fc.record({ op: fc.constant('truncate-heads' as const), k: fc.nat() }),
);

/** A replica's input after the tampering (heads as lines; a tampered head keeps its old signatures unless re-signed). */
function tamper(log: Log, ops: Op[], label: string): ReplicaInput {
  const e = [...log.entryLines];
  const h: (SignedHead | string)[] = log.heads.map((x) => structuredClone(x));
  let entriesPartial: string | undefined;
  let headsPartial: string | undefined;
  const at = <T>(a: T[], i: number) => i % Math.max(1, a.length);
  const head = (i: number) => h[at(h, i)];
  for (const o of ops) {
    if (o.op === 'partial') {
      if (o.heads) headsPartial = o.text;
      else entriesPartial = o.text;
      continue;
    }
    if (o.op.endsWith('entries') || o.op.endsWith('entry') || o.op === 'uncanonical' || o.op === 'renumber') {
      if (!e.length) continue;
    } else if (!h.length) continue;
    switch (o.op) {
      case 'change-entry': {
        const i = at(e, o.i);
        try {
          const x = JSON.parse(e[i]!) as LedgerEntry;
          e[i] = canonicalJson({ ...x, body: { ...x.body, changed: o.x } });
        } catch {
          e[i] = e[i] + ' ';
        }
        break;
      }
      case 'delete-entry':
        e.splice(at(e, o.i), 1);
        break;
      case 'swap-entries': {
        const [i, j] = [at(e, o.i), at(e, o.j)];
        [e[i], e[j]] = [e[j]!, e[i]!];
        break;
      }
      case 'duplicate-entry': {
        const i = at(e, o.i);
        e.splice(i, 0, e[i]!);
        break;
      }
      case 'truncate-entries':
        e.length = o.k % (e.length + 1);
        break;
      case 'uncanonical': {
        const i = at(e, o.i);
        e[i] = e[i]!.replace(':', ': ');
        break;
      }
      case 'garble-entry':
        e[at(e, o.i)] = '{"seq": tampered';
        break;
      case 'renumber': {
        const i = at(e, o.i);
        try {
          const x = JSON.parse(e[i]!) as LedgerEntry;
          e[i] = canonicalJson({ ...x, seq: Math.max(0, x.seq + o.d) });
        } catch {
          /* not an entry any more */
        }
        break;
      }
      case 'flip-signature': {
        const x = head(o.h);
        if (typeof x === 'string') break;
        const s = x!.signatures[o.p % x!.signatures.length];
        if (!s) break;
        const b = Buffer.from(s.signature, 'base64');
        b[o.bit >> 3]! ^= 1 << (o.bit & 7);
        s.signature = b.toString('base64');
        break;
      }
      case 'drop-signature': {
        const x = head(o.h);
        if (typeof x !== 'string') x!.signatures = x!.signatures.filter((s) => s.party !== o.p);
        break;
      }
      case 'copy-signature': {
        const [x, y] = [head(o.h), head(o.from)];
        if (typeof x !== 'string' && typeof y !== 'string' && x!.signatures[0] && y!.signatures[0]) x!.signatures[0] = { ...y!.signatures[0] };
        break;
      }
      case 'intruder': {
        const x = head(o.h);
        if (typeof x === 'string') break;
        const who = keys.map((k, p) => (p === o.p ? intruder : k));
        h[at(h, o.h)] = coSign(x!, who);
        break;
      }
      case 'change-root': {
        const x = head(o.h);
        if (typeof x === 'string') break;
        h[at(h, o.h)] = coSign({ ...x!, rootHash: hex(x!.rootHash) }); // all three nodes signed another root: a fork
        break;
      }
      case 'delete-head':
        h.splice(at(h, o.h), 1);
        break;
      case 'swap-heads': {
        const [i, j] = [at(h, o.h), at(h, o.g)];
        [h[i], h[j]] = [h[j]!, h[i]!];
        break;
      }
      case 'other-cluster': {
        const x = head(o.h);
        if (typeof x !== 'string') h[at(h, o.h)] = coSign({ ...x!, cluster: 'elsewhere' });
        break;
      }
      case 'garble-head':
        h[at(h, o.h)] = o.h % 2 ? '{"size": 3' : JSON.stringify({ cluster: 'test', size: -1 });
        break;
      case 'truncate-heads':
        h.length = o.k % (h.length + 1);
        break;
    }
  }
  return { label, entryLines: e, headLines: h.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))), ...(entriesPartial !== undefined ? { entriesPartial } : {}), ...(headsPartial !== undefined ? { headsPartial } : {}) };
}

/** What a report says, comparable across the old and the new implementation. */
function said(r: ReplicaReport | beforeVerify.ReplicaReport, size?: number) {
  return {
    problems: r.problems,
    warnings: r.warnings,
    size: r.size,
    entries: r.entries,
    heads: r.heads,
    goodHeads: r.goodHeads,
    cosigned: r.cosigned,
    latest: r.latest,
    root: r.size ? now.toHex(r.tree.root(size ?? r.size)) : '',
  };
}

const itemsArb = fc.array(fc.record({ kind: fc.nat(), x: fc.nat(1000), head: fc.boolean() }), { maxLength: 14 });

describe('replica verification agrees with the node:crypto verifier on random, tampered logs', () => {
  it('one replica (all signatures, and the latest only)', () => {
    fc.assert(
      fc.property(itemsArb, fc.array(opArb, { maxLength: 3 }), (items, ops) => {
        const input = tamper(buildLog(items), ops, 'node-b');
        for (const mode of ['all', 'latest'] as const) {
          const a = { ...anchor, signatures: mode };
          const fresh = verifyReplica(input, a);
          let old: beforeVerify.ReplicaReport;
          try {
            old = beforeVerify.verifyReplica(input, a);
          } catch (e) {
            // The one difference: heads out of order made the old verifier throw (a consistency
            // proof asked from a larger to a smaller head); the new one reports them.
            assert.match(String(e), /RangeError: consistency proof from \d+ to \d+/);
            assert.ok(fresh.findings.some((f) => f.check === 'head-order'), fresh.problems.join('\n'));
            continue;
          }
          assert.deepEqual(said(fresh), said(old), JSON.stringify(ops));
          assert.equal(fresh.findings.length, fresh.problems.length);
          assert.deepEqual(fresh.findings.map((f) => f.message), fresh.problems);
        }
      }),
      { numRuns: 120 },
    );
  });

  it('three replicas (one tampered, or a forked history): the cross checks and the whole audit', async () => {
    await fc.assert(
      fc.asyncProperty(itemsArb.filter((x) => x.length > 0), fc.array(opArb, { maxLength: 2 }), fc.nat(2), fc.boolean(), fc.nat(), async (items, ops, who, fork, cut) => {
        const base = buildLog(items);
        const forked = fork ? buildLog(items.slice(0, 1 + (cut % items.length)), 'forked') : base;
        const inputs = NAMES.map((n, p) => (p === who ? tamper(forked, ops, n) : tamper(base, [], n)));
        const fresh = inputs.map((i) => verifyReplica(i, anchor));
        let old: beforeVerify.ReplicaReport[];
        try {
          old = inputs.map((i) => beforeVerify.verifyReplica(i, anchor));
        } catch (e) {
          assert.match(String(e), /RangeError: consistency proof from \d+ to \d+/); // heads out of order (see above)
          return;
        }
        const c1 = compareReplicas(fresh);
        const c0 = beforeVerify.compareReplicas(old);
        assert.deepEqual([c1.problems, c1.warnings], [c0.problems, c0.warnings]);
        // The audit (offline): the replicas' problems, then the cross checks, then the content rules.
        const audit = await auditLog(inputs, anchor);
        const rest = audit.problems.slice(old.flatMap((r) => r.problems).length + c0.problems.length);
        assert.deepEqual(audit.problems.slice(0, audit.problems.length - rest.length), [...old.flatMap((r) => r.problems), ...c0.problems]);
        assert.ok(rest.every((m) => /^entry \d+: /.test(m)), rest.join('\n'));
        // With the heads' signatures checked ahead (as the browser's helper threads do): the same audit.
        const ahead = await auditLog(inputs, anchor, { signatures: new Map(headSignatureChecks(inputs.flatMap((i) => i.headLines), anchor)) });
        assert.deepEqual([ahead.problems, ahead.warnings], [audit.problems, audit.warnings]);
      }),
      { numRuns: 40 },
    );
  });
});

// Keep the signing helpers honest: the head message and its signature are node:crypto's.
describe('head signing stays with node:crypto', () => {
  it('signHead signs headMessage with the node key', () => {
    const h: TreeHead = { cluster: 'test', size: 3, rootHash: 'ab'.repeat(32), timestamp: time(3) };
    const s = signHead(h, 1, keys[1]!.privateKeyPem);
    const pub: KeyObject = createPublicKey(createPrivateKey(keys[1]!.privateKeyPem));
    assert.ok(verify(null, headMessage(h), pub, Buffer.from(s.signature, 'base64')));
  });
});
