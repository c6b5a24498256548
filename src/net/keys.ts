// Node identities and the cluster configuration.
//
// Every node has an ECDSA P-256 key pair and a self-signed X.509 certificate made by
// `mosaik keygen` (the private key file is written with mode 0600). Nodes trust no CA: the cluster
// configuration pins each node's certificate (PEM file or its SHA-256 fingerprint), and the TLS
// channel (src/net/tls.ts) accepts a connection only from the exact pinned certificate of the party
// it expects.
//
// cluster.json (public; the same file at every node):
//   { "cluster": "demo",
//     "nodes": [ { "id": 0, "name": "node-a", "host": "127.0.0.1", "port": 7401,
//                  "cert": "-----BEGIN CERTIFICATE-----\n…",      // PEM text, or a PEM file relative to cluster.json
//                  "fingerprint": "AB:CD:…",                       // SHA-256; optional if cert is given; must agree if both
//                  "signingKey": "ed25519:…" }, … ] }              // public Ed25519 key signing transparency-log heads
//
// Besides its TLS key, every node has an Ed25519 signing key (<name>.sign.key.pem, mode 0600, PKCS#8)
// with which it co-signs the tree heads of the transparency log (src/ledger/heads.ts). Its public
// half goes into cluster.json as "ed25519:" + base64url of the 32-byte key (RFC 8037's "x").
//
// A local cluster directory (createLocalCluster) holds cluster.json and one directory per node,
// <dir>/<name>/, with that node's <name>.key.pem, <name>.cert.pem, <name>.sign.key.pem and its data.
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, webcrypto, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { PartyId } from './channel.js';
import { writeNewKeyFile } from './key-file.js';
import { readUploadKey, uploadKeyPath, writeUploadKey, type UploadKey } from './upload-keys.js';
import { uploadKeyBase64url } from './upload-key-format.js';

export interface NodeKey {
  name: string;
  keyPem: string;
  certPem: string;
  /** SHA-256 of the DER certificate, upper-case hex pairs joined by ':' (as openssl prints it). */
  fingerprint: string;
}

export interface NodeEntry {
  id: PartyId;
  name: string;
  host: string;
  port: number;
  /** PEM text, or a path to a PEM file relative to cluster.json. */
  cert?: string;
  fingerprint?: string;
  /** Public Ed25519 key for the transparency log: "ed25519:<base64url of 32 bytes>". */
  signingKey?: string;
  /** Public X25519 key browsers seal uploads to: "x25519:<base64url of 32 bytes>" (./upload-keys.ts). */
  uploadKey?: string;
}

export interface ClusterConfigFile {
  cluster?: string;
  nodes: NodeEntry[];
}

/** A loaded, validated configuration: nodes[i].id === i, every node with a pinned fingerprint. */
export interface ClusterConfig {
  cluster: string;
  nodes: [ResolvedNode, ResolvedNode, ResolvedNode];
  /** Directory of cluster.json (a local cluster keeps node directories here). */
  dir: string;
}
export interface ResolvedNode {
  id: PartyId;
  name: string;
  host: string;
  port: number;
  fingerprint: string;
  certPem?: string;
  /** Normalised "ed25519:<base64url>" public signing key, when cluster.json carries one. */
  signingKey?: string;
}

const SIGN_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Fresh ECDSA P-256 key pair and a self-signed certificate (CN = name), valid for 10 years. */
export async function generateNodeKey(name: string): Promise<NodeKey> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error(`node name "${name}" must be 1-64 characters of A-Z a-z 0-9 . _ -`);
  // @peculiar/x509 builds the certificate (node:crypto can parse X.509 but not issue it). It needs
  // the Reflect metadata polyfill loaded first; both load only here, not on the data path.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const keys = (await webcrypto.subtle.generateKey(SIGN_ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0]! &= 0x7f; // positive INTEGER
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * 24 * 3600 * 1000),
    keys,
    signingAlgorithm: SIGN_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  const certPem = cert.toString('pem').replace(/\r\n/g, '\n').replace(/\n?$/, '\n');
  return { name, keyPem, certPem, fingerprint: fingerprintOf(certPem) };
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Canonical form for comparing fingerprints: upper-case hex pairs joined by ':'. Accepts "sha256:" prefix, colons or none. */
export function normalizeFingerprint(fp: string): string {
  const hex = fp.trim().replace(/^sha-?256:/i, '').replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new Error(`"${fp}" is not a SHA-256 fingerprint (64 hex digits)`);
  return hex.match(/../g)!.join(':');
}

export function keyPaths(outDir: string, name: string): { key: string; cert: string } {
  return { key: join(outDir, `${name}.key.pem`), cert: join(outDir, `${name}.cert.pem`) };
}

/**
 * `mosaik keygen`: writes <outDir>/<name>.key.pem (mode 0600), <name>.cert.pem, the Ed25519
 * signing key <name>.sign.key.pem and the X25519 upload key <name>.upload.key.pem (both mode 0600).
 * Refuses to overwrite unless asked; when only the signing or the upload key is missing (a node
 * made before the transparency log or browser uploads), it adds just that one (`signingKeyAdded`,
 * `uploadKeyAdded`) and keeps the TLS key.
 */
export async function writeNodeKey(
  outDir: string,
  name: string,
  opts: { overwrite?: boolean } = {},
): Promise<NodeKey & { keyPath: string; certPath: string; signingKeyPath: string; signingKey: string; signingKeyAdded?: boolean; uploadKeyPath: string; uploadKey: string; uploadKeyAdded?: boolean }> {
  const p = keyPaths(outDir, name);
  const sp = signingKeyPath(outDir, name);
  const up = uploadKeyPath(outDir, name);
  if (!opts.overwrite && (existsSync(p.key) || existsSync(p.cert))) {
    if (existsSync(p.key) && existsSync(p.cert) && (!existsSync(sp) || !existsSync(up))) {
      const signingKeyAdded = !existsSync(sp);
      const s = signingKeyAdded ? writeSigningKey(outDir, name) : readSigningKey(outDir, name);
      const uploadKeyAdded = !existsSync(up);
      const u = uploadKeyAdded ? writeUploadKey(outDir, name) : readUploadKey(outDir, name);
      return {
        ...readNodeKey(outDir, name), keyPath: p.key, certPath: p.cert, signingKeyPath: sp, signingKey: s.publicKey, ...(signingKeyAdded ? { signingKeyAdded } : {}),
        uploadKeyPath: up, uploadKey: u.publicKey, ...(uploadKeyAdded ? { uploadKeyAdded } : {}),
      };
    }
    throw new Error(`${p.key} or ${p.cert} already exists (use --force to replace it)`);
  }
  const k = await generateNodeKey(name);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  writeFileSync(p.key, k.keyPem, { mode: 0o600 });
  chmodSync(p.key, 0o600); // also when the file existed with wider permissions
  writeFileSync(p.cert, k.certPem, { mode: 0o644 });
  const s = writeSigningKey(outDir, name, { overwrite: true });
  const u = writeUploadKey(outDir, name, { overwrite: true });
  return { ...k, keyPath: p.key, certPath: p.cert, signingKeyPath: sp, signingKey: s.publicKey, uploadKeyPath: up, uploadKey: u.publicKey };
}

// ---------------------------------------------------------------------------------------------
// Ed25519 signing keys (transparency-log tree heads)

export interface SigningKey {
  /** PKCS#8 PEM of the Ed25519 private key. */
  privateKeyPem: string;
  /** "ed25519:<base64url of the 32-byte public key>", as cluster.json carries it. */
  publicKey: string;
}

export function signingKeyPath(outDir: string, name: string): string {
  return join(outDir, `${name}.sign.key.pem`);
}

/** The cluster.json form of an Ed25519 public key. */
export function signingPublicKeyOf(key: KeyObject | string): string {
  const pub = typeof key === 'string' ? createPublicKey(createPrivateKey(key)) : key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType !== 'ed25519') throw new Error(`a signing key must be Ed25519, got ${pub.asymmetricKeyType}`);
  return `ed25519:${pub.export({ format: 'jwk' }).x}`;
}

/** Validates "ed25519:<base64url 32 bytes>" (also accepts standard base64) and returns the normal form. */
export function normalizeSigningKey(s: string): string {
  const m = /^ed25519:([A-Za-z0-9_\-+/]{43}=?)$/.exec(typeof s === 'string' ? s.trim() : '');
  if (!m) throw new Error(`signingKey must look like "ed25519:" followed by the base64url of a 32-byte Ed25519 public key, got ${JSON.stringify(s)}`);
  const raw = Buffer.from(m[1]!.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (raw.length !== 32) throw new Error(`signingKey ${s} does not hold 32 bytes`);
  return `ed25519:${raw.toString('base64url')}`;
}

/** A public KeyObject for node:crypto.verify from the cluster.json form. */
export function signingPublicKey(s: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: normalizeSigningKey(s).slice('ed25519:'.length) }, format: 'jwk' });
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, publicKey: signingPublicKeyOf(publicKey) };
}

/** Writes <outDir>/<name>.sign.key.pem (mode 0600); refuses to replace an existing one unless asked. */
export function writeSigningKey(outDir: string, name: string, opts: { overwrite?: boolean } = {}): SigningKey & { path: string } {
  return writeNewKeyFile(signingKeyPath(outDir, name), generateSigningKey, opts.overwrite);
}

export function readSigningKey(outDir: string, name: string): SigningKey {
  const path = signingKeyPath(outDir, name);
  let privateKeyPem: string;
  try {
    privateKeyPem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read this node's Ed25519 signing key ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nodes made before the transparency log get one with \`mosaik keygen --out ${outDir} --name ${name}\` (a local cluster: \`mosaik local-cluster <dir>\`)`);
  }
  return { privateKeyPem, publicKey: signingPublicKeyOf(privateKeyPem) };
}

/**
 * The public signing keys of all three nodes, or a clear error when cluster.json lacks one (a
 * cluster made before the transparency log).
 */
export function clusterSigningKeys(config: ClusterConfig): [string, string, string] {
  const missing = config.nodes.filter((n) => !n.signingKey);
  if (missing.length) {
    throw new Error(
      `cluster.json in ${config.dir} has no "signingKey" (Ed25519 public key for the transparency log) for ${missing.map((n) => `node ${n.id} (${n.name})`).join(', ')}: ` +
        'a local cluster is upgraded by running `mosaik local-cluster <dir>` again; otherwise run `mosaik keygen --out <keyDir> --name <node>` at that node (it adds the missing signing key) and put the printed signingKey into every copy of cluster.json',
    );
  }
  return config.nodes.map((n) => n.signingKey!) as [string, string, string];
}

/**
 * One field of each node's entry in cluster.json as written (undefined where absent, or without
 * the file), in the order of config.nodes: for the fields resolveClusterConfig does not keep
 * (apiPort, uploadKey).
 */
export function clusterFileField(config: ClusterConfig, field: string): unknown[] {
  let raw: { nodes?: ({ id: number } & Record<string, unknown>)[] } = {};
  try {
    raw = JSON.parse(readFileSync(join(config.dir, 'cluster.json'), 'utf8'));
  } catch {
    /* no file: none */
  }
  return config.nodes.map((n) => raw.nodes?.find((x) => x.id === n.id)?.[field]);
}

/** This node's signing key, checked against the one cluster.json pins for it. */
export function loadSigningIdentity(config: ClusterConfig, party: PartyId, keyDir: string): SigningKey {
  const keys = clusterSigningKeys(config);
  const me = config.nodes[party];
  const k = readSigningKey(keyDir, me.name);
  if (k.publicKey !== keys[party]) throw new Error(`this node's signing key (${k.publicKey}) is not the one cluster.json gives for party ${party} (${me.name}): ${keys[party]}`);
  return k;
}

/**
 * The nodes' public upload keys from cluster.json (undefined for a node without one: a cluster
 * made before browser uploads). Read from the file itself, as apiPorts does: the validated
 * ClusterConfig keeps only what the MPC needs.
 */
export function clusterUploadKeys(config: ClusterConfig): (string | undefined)[] {
  const keys = clusterFileField(config, 'uploadKey');
  return config.nodes.map((n, i) => {
    const k = keys[i];
    if (k === undefined) return undefined;
    try {
      return `x25519:${uploadKeyBase64url(k as string)}`;
    } catch (e) {
      throw new Error(`cluster config node ${n.id} (${n.name}): ${(e as Error).message}`);
    }
  });
}

/**
 * This node's upload key, checked against the one cluster.json gives for it; null (with the reason)
 * when the cluster has none for this node, so the node serves everything but sealed uploads.
 */
export function loadUploadIdentity(config: ClusterConfig, party: PartyId, keyDir: string): { key: UploadKey | null; problem?: string } {
  const me = config.nodes[party];
  const published = clusterUploadKeys(config)[party];
  const path = uploadKeyPath(keyDir, me.name);
  const fix = `run \`mosaik keygen --out ${keyDir} --name ${me.name}\` (it adds the missing upload key) and put its "uploadKey" into every copy of cluster.json; a local cluster: \`mosaik local-cluster <dir>\``;
  if (!published) return { key: null, problem: `cluster.json gives no "uploadKey" for node ${party} (${me.name}): browsers cannot seal uploads for it; ${fix}` };
  if (!existsSync(path)) return { key: null, problem: `this node has no upload key ${path}: ${fix}` };
  const key = readUploadKey(keyDir, me.name);
  if (key.publicKey !== published) throw new Error(`this node's upload key (${key.publicKey}) is not the one cluster.json gives for party ${party} (${me.name}): ${published}`);
  return { key };
}

/** Reads a node's own key and certificate. */
export function readNodeKey(outDir: string, name: string): NodeKey {
  const p = keyPaths(outDir, name);
  const keyPem = readFileSync(p.key, 'utf8');
  const certPem = readFileSync(p.cert, 'utf8');
  return { name, keyPem, certPem, fingerprint: fingerprintOf(certPem) };
}

/** Validates a configuration object; `baseDir` resolves relative certificate paths. */
export function resolveClusterConfig(file: ClusterConfigFile, baseDir: string): ClusterConfig {
  if (!file || !Array.isArray(file.nodes) || file.nodes.length !== 3) throw new Error('cluster config must list exactly three nodes');
  const nodes = [...file.nodes].sort((a, b) => a.id - b.id);
  const out = nodes.map((n, i): ResolvedNode => {
    const where = `cluster config node ${i}`;
    if (n.id !== i) throw new Error(`cluster config: node ids must be 0, 1 and 2 (got ${file.nodes.map((x) => x.id).join(', ')})`);
    if (typeof n.name !== 'string' || !n.name) throw new Error(`${where}: missing name`);
    if (typeof n.host !== 'string' || !n.host) throw new Error(`${where} (${n.name}): missing host`);
    if (!Number.isInteger(n.port) || n.port < 1 || n.port > 65535) throw new Error(`${where} (${n.name}): port must be 1-65535, got ${n.port}`);
    let certPem: string | undefined;
    if (n.cert) {
      certPem = n.cert.includes('-----BEGIN CERTIFICATE-----') ? n.cert : readFileSync(isAbsolute(n.cert) ? n.cert : join(baseDir, n.cert), 'utf8');
    }
    const fromCert = certPem ? fingerprintOf(certPem) : undefined;
    const given = n.fingerprint ? normalizeFingerprint(n.fingerprint) : undefined;
    if (fromCert && given && fromCert !== given) throw new Error(`${where} (${n.name}): fingerprint ${given} does not match its certificate (${fromCert})`);
    const fingerprint = fromCert ?? given;
    if (!fingerprint) throw new Error(`${where} (${n.name}): needs a pinned "cert" or "fingerprint"`);
    let signingKey: string | undefined;
    if (n.signingKey !== undefined) {
      try {
        signingKey = normalizeSigningKey(n.signingKey);
      } catch (e) {
        throw new Error(`${where} (${n.name}): ${(e as Error).message}`);
      }
    }
    return { id: i as PartyId, name: n.name, host: n.host, port: n.port, fingerprint, ...(certPem ? { certPem } : {}), ...(signingKey ? { signingKey } : {}) };
  });
  return { cluster: file.cluster ?? 'mosaik', nodes: out as ClusterConfig['nodes'], dir: resolve(baseDir) };
}

export function loadClusterConfig(path: string): ClusterConfig {
  let file: ClusterConfigFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as ClusterConfigFile;
  } catch (e) {
    throw new Error(`cannot read cluster config ${path}: ${(e as Error).message}`);
  }
  return resolveClusterConfig(file, dirname(resolve(path)));
}

/**
 * What a node process loads at start: the cluster config in `dir`, its own entry, and its key
 * (from `keyDir`, default <dir>/<name>), refusing a key whose certificate is not the one pinned
 * for this party.
 */
export function loadNodeIdentity(dir: string, party: number, keyDir?: string): { config: ClusterConfig; me: ResolvedNode; nodeDir: string; key: NodeKey } {
  const config = loadClusterConfig(join(dir, 'cluster.json'));
  const me = config.nodes[party as 0 | 1 | 2];
  if (!me) throw new Error(`party must be 0, 1 or 2, got ${party}`);
  const nodeDir = join(config.dir, me.name);
  const key = readNodeKey(keyDir ?? nodeDir, me.name);
  if (key.fingerprint !== me.fingerprint) {
    throw new Error(`this node's certificate (${key.fingerprint}) is not the one pinned for party ${me.id} (${me.name}) in cluster.json (${me.fingerprint})`);
  }
  return { config, me, nodeDir, key };
}

/** Ports the OS reports free right now (bound together, then released). */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<ReturnType<typeof createServer>>((ok, fail) => {
        const s = createServer();
        s.once('error', fail);
        s.listen(0, host, () => ok(s));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

export const LOCAL_NODE_NAMES = ['node-a', 'node-b', 'node-c'] as const;

export interface LocalCluster {
  dir: string;
  configPath: string;
  config: ClusterConfig;
  /** <dir>/<name> for each party. */
  nodeDirs: [string, string, string];
}

/** The node entries of an existing local cluster.json (three, with ports), or null. */
function existingNodes(path: string): (NodeEntry & { apiPort?: number })[] | null {
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as { nodes?: (NodeEntry & { apiPort?: number })[] };
    const nodes = [...(raw.nodes ?? [])].sort((a, b) => a.id - b.id);
    return nodes.length === 3 && nodes.every((n, i) => n.id === i && Number.isInteger(n.port)) ? nodes : null;
  } catch {
    return null;
  }
}

/**
 * A three-node cluster on 127.0.0.1 in `dir`: keys (kept if present), free ports (picked anew on
 * every call, so a stale config cannot collide; with keepPorts those of an existing cluster.json),
 * cluster.json. For the demo, tests and benchmarks.
 */
export async function createLocalCluster(dir: string, opts: { cluster?: string; keepPorts?: boolean } = {}): Promise<LocalCluster> {
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  // keepPorts (`mosaik local-cluster` on an existing cluster): the ports of cluster.json stay, so
  // running nodes stay reachable; extra fields of its node entries (apiPort) stay too.
  const before = opts.keepPorts ? existingNodes(join(root, 'cluster.json')) : null;
  const ports = before ? before.map((n) => n.port) : await freePorts(3);
  const nodes: NodeEntry[] = [];
  const nodeDirs: string[] = [];
  for (const [i, name] of LOCAL_NODE_NAMES.entries()) {
    const nodeDir = join(root, name);
    const p = keyPaths(nodeDir, name);
    if (!existsSync(p.key) || !existsSync(p.cert)) await writeNodeKey(nodeDir, name, { overwrite: true });
    // Clusters made before the transparency log get their signing keys here (upgrade in place).
    if (!existsSync(signingKeyPath(nodeDir, name))) writeSigningKey(nodeDir, name);
    // And their X25519 upload keys (browsers seal uploads to them: ./upload-keys.ts).
    if (!existsSync(uploadKeyPath(nodeDir, name))) writeUploadKey(nodeDir, name);
    // The certificate goes into cluster.json itself: the config is then self-contained, and
    // replacing a node's key files cannot silently change what the others pin.
    const certPem = readFileSync(p.cert, 'utf8');
    const signingKey = readSigningKey(nodeDir, name).publicKey;
    const uploadKey = readUploadKey(nodeDir, name).publicKey;
    nodes.push({ ...(before?.[i] ?? {}), id: i as PartyId, name, host: '127.0.0.1', port: ports[i]!, fingerprint: fingerprintOf(certPem), cert: certPem, signingKey, uploadKey });
    nodeDirs.push(nodeDir);
  }
  const configPath = join(root, 'cluster.json');
  writeFileSync(configPath, JSON.stringify({ cluster: opts.cluster ?? 'local', nodes }, null, 2) + '\n');
  return { dir: root, configPath, config: loadClusterConfig(configPath), nodeDirs: nodeDirs as LocalCluster['nodeDirs'] };
}

/**
 * Points the nodes of the cluster in `dir` at other addresses (cluster.json's `host`; hosts[i] for
 * party i), keeping every other field: e.g. a local cluster whose nodes run in network namespaces
 * (bench/netns.ts). Returns the config as now written.
 */
export function setNodeHosts(dir: string, hosts: readonly string[]): ClusterConfig {
  const path = join(dir, 'cluster.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as { nodes: { id: PartyId; host: string }[] };
  for (const n of raw.nodes) n.host = hosts[n.id]!;
  writeFileSync(path, JSON.stringify(raw, null, 2) + '\n');
  return loadClusterConfig(path);
}
