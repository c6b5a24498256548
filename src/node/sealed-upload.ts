// Uploads sealed for this node (from the browser app, through a web relay that must learn nothing):
//
//   PUT /v1/datasets/:name/versions/:version/sealed   application/octet-stream, a custodian's signed call
//       body: "MKSU" | 0x01 | HPKE enc | ciphertext (src/ingest/sealed-upload-format.ts)
//
// The node opens the body with its X25519 upload key (<name>.upload.key.pem, src/net/upload-keys.ts),
// the additional data bound to this cluster, this node (name and party) and the dataset and version
// of the URL, so a body sealed for another node, dataset or version, or altered on the way, does not
// open: refused (400), nothing stored. The opened body is an ordinary upload body and goes through
// the ordinary upload path of src/node/api.ts (the same header checks, custodian's signature
// verification, share-hash check and atomic encrypted store), handed over as a stream.
//
// What this node learns: what any upload tells it (its own share pair and the public header). What
// the relay learns: the body's length. The node holds one sealed body in memory while opening it
// (at most SEALED_UPLOAD_MAX_BYTES; larger datasets go through `mosaik ingest`, which streams).
import { createPrivateKey } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PartyId } from '../net/channel.js';
import type { ClusterConfig } from '../net/keys.js';
import type { UploadKey } from '../net/upload-keys.js';
import { arrayBufferOf, UPLOAD_SUITE } from '../ingest/sealed-upload.js';
import { decodeSealedUpload, sealedUploadAad, SEALED_UPLOAD_MAX_BYTES, UPLOAD_SEAL_INFO } from '../ingest/sealed-upload-format.js';
import type { Identity } from './access.js';

/** What the upload path of src/node/api.ts reads from a request. */
export interface UploadRequest {
  body: unknown;
  params: { name: string; version: string };
  identity?: Identity;
  headers: { 'content-length'?: string | undefined };
}

/** The upload path (src/node/api.ts): stores the body's shares or answers why not. */
export type UploadReceiver = (req: UploadRequest, reply: FastifyReply) => Promise<FastifyReply>;

/** This node's upload key, or why it has none (then sealed uploads are refused with that reason). */
export interface NodeUploadKey {
  key: UploadKey | null;
  problem?: string;
}

export interface SealedUploadContext {
  config: ClusterConfig;
  me: PartyId;
  uploadKey?: NodeUploadKey;
  log: (msg: string) => void;
}

export class SealedUploadError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'SealedUploadError';
  }
}

/** Opens a sealed body with this node's upload key; throws SealedUploadError when it does not open. */
export async function openSealedUpload(body: Uint8Array, key: UploadKey, bind: { cluster: string; node: string; party: number; dataset: string; version: string }): Promise<Uint8Array> {
  let parts: { enc: Uint8Array; ct: Uint8Array };
  try {
    parts = decodeSealedUpload(body);
  } catch (e) {
    throw new SealedUploadError((e as Error).message);
  }
  const recipientKey = await UPLOAD_SUITE.kem.importKey('jwk', createPrivateKey(key.privateKeyPem).export({ format: 'jwk' }) as JsonWebKey, false);
  try {
    const recipient = await UPLOAD_SUITE.createRecipientContext({ recipientKey, enc: arrayBufferOf(parts.enc), info: arrayBufferOf(UPLOAD_SEAL_INFO) });
    return new Uint8Array(await recipient.open(arrayBufferOf(parts.ct), arrayBufferOf(sealedUploadAad(bind))));
  } catch {
    throw new SealedUploadError(
      `this sealed upload does not open with the upload key of node ${bind.party} (${bind.node}): it was sealed for another node, or for another dataset or version than ${bind.dataset}@${bind.version}, or altered on the way; nothing stored`,
    );
  }
}

async function readBody(stream: Readable, limit: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw new SealedUploadError(`a sealed upload may have at most ${limit} bytes; upload larger datasets with \`mosaik ingest\``, 413);
    parts.push(c);
  }
  return Buffer.concat(parts, n);
}

/** Registers the sealed-upload route; `receive` is the node's ordinary upload path. */
export function registerSealedUploadRoute(app: FastifyInstance, ctx: SealedUploadContext, receive: UploadReceiver): void {
  const self = ctx.config.nodes[ctx.me];
  app.put<{ Params: { name: string; version: string } }>('/v1/datasets/:name/versions/:version/sealed', async (req: FastifyRequest<{ Params: { name: string; version: string } }>, reply) => {
    const stream = req.body as Readable | undefined;
    if (!stream || typeof stream.pipe !== 'function') return reply.code(400).send({ error: 'a sealed upload must have Content-Type application/octet-stream' });
    const { name, version } = req.params;
    try {
      const key = ctx.uploadKey?.key;
      if (!key) throw new SealedUploadError(`node ${ctx.me} (${self.name}) takes no sealed uploads: ${ctx.uploadKey?.problem ?? 'it has no upload key'}`, 503);
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > SEALED_UPLOAD_MAX_BYTES) throw new SealedUploadError(`a sealed upload may have at most ${SEALED_UPLOAD_MAX_BYTES} bytes (this one has ${declared}); upload larger datasets with \`mosaik ingest\``, 413);
      const sealed = await readBody(stream, SEALED_UPLOAD_MAX_BYTES);
      const plain = await openSealedUpload(sealed, key, { cluster: ctx.config.cluster, node: self.name, party: ctx.me, dataset: name, version });
      ctx.log(`opened a sealed upload of ${name}@${version} (${sealed.length} bytes)`);
      const body = Readable.from([Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength)]);
      return await receive({ body, params: { name, version }, ...(req.identity ? { identity: req.identity } : {}), headers: { 'content-length': String(plain.byteLength) } }, reply);
    } catch (e) {
      if (!(e instanceof SealedUploadError)) throw e;
      stream.resume(); // drain what the client still sends, so it reads our answer
      ctx.log(`refused a sealed upload of ${name}@${version}: ${e.message}`);
      return reply.code(e.status).send({ error: e.message });
    }
  });
}
