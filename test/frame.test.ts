import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { ChannelError } from '../src/net/channel.js';
import { encodeFrame, encodeHeader, FrameDecoder, HEADER_BYTES, Kind, MAX_CONTROL_BYTES, type Frame } from '../src/net/frame.js';

function decoder(max?: number) {
  const frames: Frame[] = [];
  const d = new FrameDecoder('party 1 (node-b)', (f) => frames.push(f), max);
  return { d, frames };
}

const payloads = [0, 1, 7, 8, 12, 13, 100, 4096].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff));
const stream = () => {
  const parts = payloads.map((p, i) => encodeFrame(i === 3 ? Kind.Bye : Kind.Data, p, i));
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) all.set(p, (off += p.length) - p.length);
  return all;
};

function expectError(fn: () => void, pattern: RegExp) {
  assert.throws(fn, (e: Error) => e instanceof ChannelError && pattern.test(e.message));
}

describe('frames', () => {
  it('round-trips frames however the stream is chunked', () => {
    const bytes = stream();
    for (const chunk of [1, 2, 5, 11, 12, 13, 64, 1000, bytes.length]) {
      const { d, frames } = decoder();
      for (let off = 0; off < bytes.length; off += chunk) d.push(bytes.subarray(off, off + chunk));
      d.end();
      assert.equal(frames.length, payloads.length);
      frames.forEach((f, i) => {
        assert.equal(f.seq, i);
        assert.equal(f.kind, i === 3 ? Kind.Bye : Kind.Data);
        assert.deepEqual(f.payload, payloads[i]);
        // fresh, exactly sized buffers: offset 0, so 64-bit views need no copy
        assert.equal(f.payload.byteOffset, 0);
        assert.equal(f.payload.buffer.byteLength, payloads[i]!.length);
      });
      assert.ok(d.idle);
    }
  });

  it('decodes a data frame into the receiver\'s own buffer when it offers one of the right length', () => {
    for (const chunk of [1, 5, 13, 1000]) {
      const { d, frames } = decoder();
      const asked: number[] = [];
      const mine = new Map([[4, new Uint8Array(12)], [5, new Uint8Array(99)], [7, new Uint8Array(4096)]]); // frame 5: wrong length
      let call = 0;
      const frameOf = (c: number) => (c < 3 ? c : c + 1); // the 4th frame (index 3) is the bye
      d.into = (len) => (asked.push(len), mine.get(frameOf(call++)));
      const bytes = stream();
      for (let off = 0; off < bytes.length; off += chunk) d.push(bytes.subarray(off, off + chunk));
      // Asked once per data frame, empty ones too, never for the control frame (bye, frame 3).
      assert.deepEqual(asked, [0, 1, 7, 12, 13, 100, 4096]);
      frames.forEach((f, i) => assert.deepEqual(f.payload, payloads[i]));
      assert.equal(frames[4]!.payload, mine.get(4)); // decoded in place
      assert.equal(frames[7]!.payload, mine.get(7));
      assert.notEqual(frames[5]!.payload, mine.get(5)); // wrong length: a buffer of its own, and mine untouched
      assert.ok(mine.get(5)!.every((b) => b === 0));
    }
  });

  it('lets a reader write payload bytes in place (pending, filled) and gives the same frames as push', () => {
    const bytes = stream();
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { d, frames } = decoder();
      const mine = new Uint8Array(4096);
      let call = 0;
      d.into = () => (call++ === 6 ? mine : undefined); // the last data frame into the receiver's buffer
      let off = 0, inPlace = 0, step = seed;
      while (off < bytes.length) {
        step = (step * 1103515245 + 12345) % 2147483648;
        const read = Math.min(1 + (step % 300), bytes.length - off); // what one TLS read delivers
        const dst = d.pending;
        if (dst) {
          // The reader's read lands in the payload directly, at most up to the frame's end.
          const k = Math.min(read, dst.byteLength);
          dst.set(bytes.subarray(off, off + k));
          d.filled(k);
          off += k;
          inPlace += k;
        } else {
          d.push(bytes.subarray(off, off + read)); // a header and whatever follows it in the same read
          off += read;
        }
      }
      d.end();
      assert.ok(inPlace > 0);
      assert.equal(frames.length, payloads.length);
      frames.forEach((f, i) => {
        assert.equal(f.seq, i);
        assert.deepEqual(f.payload, payloads[i]);
      });
      assert.equal(frames[7]!.payload, mine);
      assert.equal(d.pending, null);
    }
  });

  it('refuses a fill beyond the payload being decoded', () => {
    const { d, frames } = decoder();
    assert.equal(d.pending, null);
    assert.throws(() => d.filled(1), RangeError);
    const bytes = encodeFrame(Kind.Data, new Uint8Array([1, 2, 3]), 0);
    d.push(bytes.subarray(0, HEADER_BYTES + 1));
    assert.equal(d.pending!.byteLength, 2);
    assert.throws(() => d.filled(3), /filled\(3\): the frame being decoded has 2 bytes left/);
    d.pending!.set([2, 3]);
    d.filled(2);
    assert.deepEqual(frames[0]!.payload, new Uint8Array([1, 2, 3]));
    assert.equal(d.pending, null);
    assert.ok(d.idle);
  });

  it('does not alias the input chunks', () => {
    const { d, frames } = decoder();
    const bytes = encodeFrame(Kind.Data, new Uint8Array([1, 2, 3]), 0);
    d.push(bytes);
    bytes.fill(0);
    assert.deepEqual(frames[0]!.payload, new Uint8Array([1, 2, 3]));
  });

  it('encodes a 12-byte little-endian header', () => {
    const h = encodeHeader(Kind.Abort, 0x01020304, 7);
    assert.equal(h.length, HEADER_BYTES);
    assert.deepEqual([...h], [0x4d, 1, 2, 0, 4, 3, 2, 1, 7, 0, 0, 0]);
    assert.throws(() => encodeHeader(Kind.Data, 2049, 0, 2048), /exceeds the maximum frame size of 2048/);
  });

  it('rejects garbage with a ChannelError naming the peer', () => {
    const good = encodeFrame(Kind.Data, new Uint8Array(4), 0);
    const bad = (i: number, v: number) => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    expectError(() => decoder().d.push(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')), /malformed frame from party 1 \(node-b\): bad magic byte 0x47/);
    expectError(() => decoder().d.push(bad(1, 2)), /unsupported frame version 2/);
    expectError(() => decoder().d.push(bad(2, 0)), /unknown frame kind 0/);
    expectError(() => decoder().d.push(bad(2, 77)), /unknown frame kind 77/);
    expectError(() => decoder().d.push(bad(3, 1)), /reserved header byte/);
    expectError(() => decoder().d.push(bad(8, 1)), /sequence number 1, expected 0/);
    // a skipped frame
    const { d } = decoder();
    d.push(encodeFrame(Kind.Data, new Uint8Array(1), 0));
    expectError(() => d.push(encodeFrame(Kind.Data, new Uint8Array(1), 2)), /sequence number 2, expected 1/);
    // after an error the decoder refuses further input
    expectError(() => d.push(encodeFrame(Kind.Data, new Uint8Array(1), 1)), /sequence number 2/);
  });

  it('rejects oversized frames from the header alone', () => {
    const { d, frames } = decoder(1 << 20);
    const h = encodeHeader(Kind.Data, 0xffffffff, 0, 0xffffffff);
    expectError(() => d.push(h), /oversized frame from party 1 \(node-b\): data frame of 4294967295 bytes exceeds the limit of 1048576 bytes/);
    assert.equal(frames.length, 0);
    const c = decoder();
    expectError(() => c.d.push(encodeHeader(Kind.Abort, MAX_CONTROL_BYTES + 1, 0)), /abort frame of 65537 bytes exceeds the limit of 65536/);
    // the default limit is 1 GiB
    expectError(() => decoder().d.push(encodeHeader(Kind.Data, (1 << 30) + 1, 0, 2 ** 32 - 1)), /exceeds the limit of 1073741824 bytes/);
  });

  it('reports streams cut inside a frame', () => {
    const f = encodeFrame(Kind.Data, new Uint8Array(100), 0);
    const a = decoder();
    a.d.push(f.subarray(0, 5));
    expectError(() => a.d.end(), /truncated frame from party 1 \(node-b\): stream ended after 5 of 12 header bytes/);
    const b = decoder();
    b.d.push(f.subarray(0, 50));
    expectError(() => b.d.end(), /stream ended after 38 of 100 payload bytes/);
    const c = decoder();
    c.d.push(f);
    c.d.end(); // a clean end between frames is fine
    assert.equal(c.frames.length, 1);
  });

  it('never throws anything but a ChannelError on random input, and never allocates beyond the limit', () => {
    for (let trial = 0; trial < 300; trial++) {
      const { d } = decoder(1 << 16);
      // half the trials start with a valid-looking header prefix so the length path gets exercised
      const junk = randomBytes(randomInt(4, 4096)); // room for the header prefix below
      if (trial % 2) junk.set([0x4d, 1, randomInt(0, 6), 0], 0);
      try {
        for (let off = 0; off < junk.length; ) {
          const k = randomInt(1, 300);
          d.push(junk.subarray(off, off + k));
          off += k;
        }
        d.end();
      } catch (e) {
        assert.ok(e instanceof ChannelError, String(e));
      }
    }
  });
});
