// Wire format of the node-to-node channel: one frame per message, each a 12-byte header and a
// payload. The stream underneath (TLS 1.3) is already ordered and integrity-protected; the header
// only delimits messages and catches protocol bugs (wrong kind, skipped frame) with a clear error.
//
//   offset 0  u8   magic 0x4d ('M')
//          1  u8   version (1)
//          2  u8   kind: 1 data | 2 abort (payload = UTF-8 reason) | 3 hello (payload = JSON) | 4 bye
//          3  u8   reserved, 0
//          4  u32  payload length, little endian, at most maxFrameBytes
//          8  u32  sequence number of this frame on this connection, from 0, per direction
//
// Decoding copies each payload into a fresh ArrayBuffer of exactly its length, so it starts at
// offset 0 and views of 64-bit lanes over it need no copy (see colOf in src/ring/ring64.ts).
import { ChannelError } from './channel.js';

export const HEADER_BYTES = 12;
export const MAGIC = 0x4d;
export const VERSION = 1;
/** Largest payload accepted by default (1 GiB): a bigger length is garbage or an attack. */
export const MAX_FRAME_BYTES = 1 << 30;

export enum Kind {
  Data = 1,
  Abort = 2,
  Hello = 3,
  Bye = 4,
}
const KIND_NAMES: Record<number, string> = { 1: 'data', 2: 'abort', 3: 'hello', 4: 'bye' };
/** Control frames carry at most this much (abort reasons, hello JSON). */
export const MAX_CONTROL_BYTES = 64 * 1024;

export interface Frame {
  kind: Kind;
  seq: number;
  payload: Uint8Array;
}

/** The 12-byte header of a frame; the payload is written after it without being copied. */
export function encodeHeader(kind: Kind, length: number, seq: number, maxFrameBytes = MAX_FRAME_BYTES): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > maxFrameBytes) {
    throw new ChannelError(`frame of ${length} bytes exceeds the maximum frame size of ${maxFrameBytes} bytes`);
  }
  const h = new Uint8Array(HEADER_BYTES);
  const v = new DataView(h.buffer);
  h[0] = MAGIC;
  h[1] = VERSION;
  h[2] = kind;
  v.setUint32(4, length, true);
  v.setUint32(8, seq >>> 0, true);
  return h;
}

/** Header and payload in one buffer (tests and small control frames only; the channel never concatenates data). */
export function encodeFrame(kind: Kind, payload: Uint8Array, seq: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  out.set(encodeHeader(kind, payload.byteLength, seq), 0);
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Incremental decoder: feed it the stream's chunks in order; it calls `onFrame` for every complete
 * frame and throws ChannelError (naming `peer`) on anything that is not a well-formed frame:
 * wrong magic or version, unknown kind, a length above the limit, an out-of-order sequence number.
 * After an error the decoder refuses further input. `end()` reports a stream cut mid-frame.
 */
/**
 * Payload buffers handed back by the receiver once it has copied what it needed (Channel.release).
 * Reusing them saves the first-touch page faults of fresh memory, which on this machine cost more
 * than decrypting the bytes. Only exact lengths are reused, and only a few buffers are kept.
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private kept = 0;
  constructor(private readonly maxBuffers = 8) {}

  take(len: number): ArrayBuffer {
    const list = this.free.get(len);
    const buf = list?.pop();
    if (buf) {
      this.kept--;
      return buf;
    }
    // Not zero-filled: every byte is overwritten before the frame is delivered.
    return Buffer.allocUnsafeSlow(len).buffer;
  }

  give(buf: ArrayBuffer): void {
    if (this.kept >= this.maxBuffers || buf.byteLength === 0) return;
    const list = this.free.get(buf.byteLength) ?? [];
    list.push(buf);
    this.free.set(buf.byteLength, list);
    this.kept++;
  }
}

export class FrameDecoder {
  private readonly header = new Uint8Array(HEADER_BYTES);
  private headerFill = 0;
  private payload: Uint8Array | null = null;
  private payloadFill = 0;
  private kind: Kind = Kind.Data;
  private seq = 0;
  private expectSeq = 0;
  private broken: ChannelError | null = null;
  /**
   * Asked at the start of every data frame (in order, empty ones too) for a buffer of the receiver's
   * own to decode its payload into, so that a protocol's column is written once, in place. When it
   * returns nothing or a buffer of another length, the payload goes to a pool buffer as usual.
   */
  into: ((len: number) => Uint8Array | undefined) | null = null;

  constructor(
    /** Who sends this stream, for error messages ("party 1 (node-b)"). */
    public peer: string,
    private readonly onFrame: (f: Frame) => void,
    /** Largest data frame accepted; mutable (the TLS channel keeps it small until the peer is authenticated). */
    public maxFrameBytes = MAX_FRAME_BYTES,
    /** Where payload buffers come from (released buffers are reused). */
    private readonly pool: BufferPool = new BufferPool(0),
  ) {}

  /** True when no partial frame is buffered. */
  get idle(): boolean {
    return this.headerFill === 0 && this.payload === null;
  }

  push(chunk: Uint8Array): void {
    if (this.broken) throw this.broken;
    let off = 0;
    const n = chunk.byteLength;
    while (off < n) {
      if (this.payload === null) {
        const take = Math.min(HEADER_BYTES - this.headerFill, n - off);
        this.header.set(chunk.subarray(off, off + take), this.headerFill);
        this.headerFill += take;
        off += take;
        if (this.headerFill < HEADER_BYTES) return;
        this.startFrame();
        if (this.payload!.byteLength === 0) this.finishFrame();
        continue;
      }
      const p = this.payload;
      const take = Math.min(p.byteLength - this.payloadFill, n - off);
      p.set(take === n && off === 0 ? chunk : chunk.subarray(off, off + take), this.payloadFill);
      this.payloadFill += take;
      off += take;
      if (this.payloadFill === p.byteLength) this.finishFrame();
    }
  }

  /**
   * Where the stream's next bytes may be written directly: the rest of the payload being decoded,
   * or null between frames (a header goes through push). A reader that fills part of it in place
   * reports how much with `filled`; the payload is then written once, by the reader.
   */
  get pending(): Uint8Array | null {
    const p = this.payload;
    return p !== null && this.broken === null && this.payloadFill < p.byteLength ? p.subarray(this.payloadFill) : null;
  }

  /** n bytes of the stream were written into `pending` (from its start) by the reader itself. */
  filled(n: number): void {
    if (this.broken) throw this.broken;
    const p = this.payload;
    if (p === null || !Number.isInteger(n) || n < 0 || n > p.byteLength - this.payloadFill) {
      throw new RangeError(`filled(${n}): the frame being decoded has ${p ? p.byteLength - this.payloadFill : 0} bytes left`);
    }
    this.payloadFill += n;
    if (this.payloadFill === p.byteLength) this.finishFrame();
  }

  /** The stream ended: an error if it ended inside a frame. */
  end(): void {
    if (this.broken) return;
    if (!this.idle) {
      const have = this.payload ? `${this.payloadFill} of ${this.payload.byteLength} payload bytes` : `${this.headerFill} of ${HEADER_BYTES} header bytes`;
      this.fail(`truncated frame from ${this.peer}: stream ended after ${have}`);
    }
  }

  private fail(msg: string): never {
    this.broken = new ChannelError(msg);
    throw this.broken;
  }

  private startFrame(): void {
    const h = this.header;
    const v = new DataView(h.buffer);
    if (h[0] !== MAGIC) this.fail(`malformed frame from ${this.peer}: bad magic byte 0x${h[0]!.toString(16).padStart(2, '0')}`);
    if (h[1] !== VERSION) this.fail(`malformed frame from ${this.peer}: unsupported frame version ${h[1]}`);
    const kind = h[2]!;
    if (!(kind in KIND_NAMES)) this.fail(`malformed frame from ${this.peer}: unknown frame kind ${kind}`);
    if (h[3] !== 0) this.fail(`malformed frame from ${this.peer}: reserved header byte is ${h[3]}`);
    const len = v.getUint32(4, true);
    const limit = kind === Kind.Data ? this.maxFrameBytes : MAX_CONTROL_BYTES;
    if (len > limit) this.fail(`oversized frame from ${this.peer}: ${KIND_NAMES[kind]} frame of ${len} bytes exceeds the limit of ${limit} bytes`);
    const seq = v.getUint32(8, true);
    if (seq !== this.expectSeq) this.fail(`malformed frame from ${this.peer}: sequence number ${seq}, expected ${this.expectSeq}`);
    this.kind = kind as Kind;
    this.seq = seq;
    const mine = kind === Kind.Data ? this.into?.(len) : undefined;
    // Else an ArrayBuffer of its own per frame: offset 0, so 8-byte aligned, and owned by the
    // receiver alone (fresh, or one the receiver released). Never from Buffer's shared pool.
    this.payload = mine && len > 0 && mine.byteLength === len ? mine : len === 0 ? new Uint8Array(0) : new Uint8Array(this.pool.take(len), 0, len);
    this.payloadFill = 0;
  }

  private finishFrame(): void {
    const f: Frame = { kind: this.kind, seq: this.seq, payload: this.payload! };
    this.payload = null;
    this.payloadFill = 0;
    this.headerFill = 0;
    this.expectSeq = (this.expectSeq + 1) >>> 0;
    this.onFrame(f);
  }
}

export function kindName(k: number): string {
  return KIND_NAMES[k] ?? `kind ${k}`;
}
