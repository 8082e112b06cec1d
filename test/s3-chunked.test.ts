/**
 * awsChunkedDecoder: the AWS documentation's STREAMING-AWS4-HMAC-SHA256-PAYLOAD example (its chunk
 * signatures copied from the page), streams signed by the SDK's own signer (@smithy/signature-v4)
 * with and without a signed trailer, SDK-style unsigned trailers, and tampered variants. A
 * tampered chunk must fail before any of its bytes leave the decoder.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FdfsError } from '../src/common/index.js';
import { awsChunkedDecoder, storedContentEncoding } from '../src/s3/chunked.js';
import { verifyRequest } from '../src/s3/sigv4.js';
import type { PayloadMode, S3Request } from '../src/s3/sigv4-types.js';
import { DOC_SIGS, docRequest, NOW, secretOf } from './helpers/aws-chunked-example.js';
import { smithySigner } from './helpers/s3-smithy-signer.js';

const docChunks = [Buffer.alloc(65536, 'a'), Buffer.alloc(1024, 'a')];

function frame(chunks: readonly Buffer[], sigs: readonly (string | undefined)[], tail: string): Buffer {
  const parts: Buffer[] = [];
  [...chunks, Buffer.alloc(0)].forEach((c, i) => {
    const sig = sigs[i];
    parts.push(
      Buffer.from(`${c.length.toString(16)}${sig === undefined ? '' : `;chunk-signature=${sig}`}\r\n`),
    );
    if (c.length > 0) parts.push(c, Buffer.from('\r\n'));
  });
  parts.push(Buffer.from(tail));
  return Buffer.concat(parts);
}

interface Run {
  out: Buffer;
  err: FdfsError | undefined;
  /** How many output bytes existed when the error came (what a consumer could have stored). */
  beforeError: number;
}

/** Writes `body` in pieces of `step` bytes and collects what comes out. */
async function run(
  mode: PayloadMode,
  headers: S3Request['headers'],
  body: Buffer,
  step = 4096,
  opts = {},
): Promise<Run> {
  const dec = awsChunkedDecoder(mode, headers, opts);
  const out: Buffer[] = [];
  let size = 0;
  let beforeError = -1;
  dec.on('data', (b: Buffer) => {
    out.push(b);
    size += b.length;
  });
  const ended = new Promise<FdfsError | undefined>((resolve) => {
    dec.on('end', () => resolve(undefined));
    dec.on('error', (e) => {
      beforeError = size;
      resolve(e as FdfsError);
    });
  });
  for (let i = 0; i < body.length; i += step) {
    if (dec.destroyed) break;
    dec.write(body.subarray(i, i + step));
  }
  if (!dec.destroyed) dec.end();
  const err = await ended;
  return { out: Buffer.concat(out), err, beforeError };
}

describe('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the AWS documentation example', () => {
  const body = frame(docChunks, DOC_SIGS, '\r\n');
  const mode = verifyRequest(docRequest, secretOf, NOW).payload;

  it('the seed signature verifies and every chunk signature matches AWS’s', async () => {
    expect(body.length).toBe(66824); // the example's Content-Length: our framing is theirs
    expect(mode.kind).toBe('streaming-signed');
    for (const step of [1 << 20, 4096, 97, 1]) {
      // A payload mode's chunk signer is a chain: one per request, so verify afresh for each run.
      const r = await run(verifyRequest(docRequest, secretOf, NOW).payload, docRequest.headers, body, step);
      expect(r.err).toBeUndefined();
      expect(r.out.equals(Buffer.concat(docChunks))).toBe(true);
    }
  });

  it('one flipped byte in the second chunk: the first chunk passes, nothing of the second does', async () => {
    const bad = Buffer.from(body);
    const at = body.indexOf('\r\n400;') + 2 + '400;chunk-signature='.length + 64 + 2 + 500;
    bad[at] = 0x62; // 'b'
    const r = await run(verifyRequest(docRequest, secretOf, NOW).payload, docRequest.headers, bad, 1000);
    expect(r.err?.detail).toBe('SignatureDoesNotMatch');
    expect(r.beforeError).toBe(65536);
    expect(r.out.equals(docChunks[0] as Buffer)).toBe(true);
  });

  it('a flipped byte in the first chunk: nothing at all is emitted', async () => {
    const bad = Buffer.from(body);
    bad[200] = 0x41;
    const r = await run(verifyRequest(docRequest, secretOf, NOW).payload, docRequest.headers, bad);
    expect(r.err?.detail).toBe('SignatureDoesNotMatch');
    expect(r.beforeError).toBe(0);
  });

  it('swapped, dropped or replayed chunks break the chain', async () => {
    const fresh = () => verifyRequest(docRequest, secretOf, NOW).payload;
    const [c0, c1] = docChunks as [Buffer, Buffer];
    const [s0, s1, s2] = DOC_SIGS as [string, string, string];
    // Second chunk sent first (with its own signature), or the final chunk's signature early.
    const cases: [Buffer, number, number][] = [
      [frame([c1, c0], [s1, s0, s2], '\r\n'), 66560, 0], // reordered: the first chunk already fails
      [frame([c0], [s0, s2], '\r\n'), 65536, 65536], // dropped: the final chunk's signature fails
      [frame([c0, c1], [s0, s1, s1], '\r\n'), 66560, 66560], // a replayed signature for the final chunk
      [frame([c0, c1], [s0, s1, undefined], '\r\n'), 66560, 66560], // an unsigned final chunk
    ];
    for (const [b, declared, emitted] of cases) {
      const headers = { ...docRequest.headers, 'x-amz-decoded-content-length': String(declared) };
      const r = await run(fresh(), headers, b);
      expect(r.err?.detail ?? 'none').toMatch(/SignatureDoesNotMatch|IncompleteBody/);
      // Bytes of the final-chunk cases were signed; the error still comes before the stream ends.
      expect(r.beforeError).toBe(emitted);
    }
  });

  it('length and framing errors: truncated, trailing garbage, wrong declared length, bare LF, caps', async () => {
    const fresh = () => verifyRequest(docRequest, secretOf, NOW).payload;
    const h = docRequest.headers;
    const cases: [Buffer, S3Request['headers'], string][] = [
      [body.subarray(0, body.length - 100), h, 'IncompleteBody'], // ends inside the final chunk header
      [body.subarray(0, 66000), h, 'IncompleteBody'],
      [Buffer.concat([body, Buffer.from('x')]), h, 'IncompleteBody'],
      [body, { ...h, 'x-amz-decoded-content-length': '66559' }, 'IncompleteBody'],
      [body, { ...h, 'x-amz-decoded-content-length': '66561' }, 'IncompleteBody'],
      [Buffer.from(body.toString('latin1').replace('\r\n400;', '\n400;'), 'latin1'), h, 'IncompleteBody'],
      [
        Buffer.concat([Buffer.from(`10000;chunk-signature=${'0'.repeat(300)}\r\n`), body]),
        h,
        'IncompleteBody',
      ],
      [Buffer.from(`100000000;chunk-signature=${DOC_SIGS[0]}\r\n`), h, 'IncompleteBody'],
    ];
    for (const [b, headers, code] of cases) {
      const r = await run(fresh(), headers, b);
      expect(r.err?.detail).toBe(code);
    }
    expect(() => awsChunkedDecoder(fresh(), { ...h, 'x-amz-decoded-content-length': undefined })).toThrow(
      FdfsError,
    );
    // A signed chunk larger than the cap is refused from its header, before buffering.
    const r = await run(fresh(), h, body, 4096, { maxSignedChunk: 65535 });
    expect(r.err?.detail).toBe('InvalidArgument');
    expect(r.beforeError).toBe(0);
  });
});

// --- streams signed by the SDK's signer -------------------------------------------------------
const SDK_AK = 'AKIDEXAMPLESDK';
const SDK_SECRET = 'sdk-secret/with+odd=chars';
const sdkSecretOf = (k: string) => (k === SDK_AK ? SDK_SECRET : undefined);

function crc32cBase64(data: Buffer): string {
  // Independent of src/s3: bitwise CRC-32C straight from its definition.
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

async function smithyStream(
  chunks: Buffer[],
  trailer: { name: string; value: string } | undefined,
  region = 'eu-west-3',
) {
  const signer = smithySigner(SDK_AK, SDK_SECRET, region);
  const signingDate = new Date(NOW);
  const decoded = chunks.reduce((n, c) => n + c.length, 0);
  const headers: Record<string, string> = {
    host: '127.0.0.1:9000',
    'content-encoding': 'aws-chunked',
    'x-amz-content-sha256': trailer
      ? 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
      : 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'x-amz-decoded-content-length': String(decoded),
  };
  if (trailer) headers['x-amz-trailer'] = trailer.name;
  const signed = await signer.sign(
    {
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path: '/bucket/k%20ey',
      query: {},
      headers,
    },
    { signingDate },
  );
  const seed = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization as string)?.[1] as string;
  const sigs: string[] = [];
  let prior = seed;
  for (const c of [...chunks, Buffer.alloc(0)]) {
    prior = await signer.sign(
      { headers: new Uint8Array(0), payload: c },
      { priorSignature: prior, signingDate },
    );
    sigs.push(prior);
  }
  let tail = '\r\n';
  if (trailer) {
    const block = `${trailer.name}:${trailer.value}\n`;
    const scope = `20130524/${region}/s3/aws4_request`;
    const sts = [
      'AWS4-HMAC-SHA256-TRAILER',
      '20130524T000000Z',
      scope,
      prior,
      createHash('sha256').update(block).digest('hex'),
    ].join('\n');
    const trailerSig = await signer.sign(sts, { signingDate });
    tail = `${trailer.name}:${trailer.value}\r\nx-amz-trailer-signature:${trailerSig}\r\n\r\n`;
  }
  const req: S3Request = {
    method: 'PUT',
    rawPath: '/bucket/k%20ey',
    rawQuery: '',
    headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
  return { req, body: frame(chunks, sigs, tail), sigs };
}

describe('signed streams from the SDK signer', () => {
  const chunks = [Buffer.from('x'.repeat(8192)), Buffer.from('hello, world'), Buffer.from([0, 13, 10, 255])];
  const all = Buffer.concat(chunks);

  it('without trailer: verifies in any region, decodes exactly', async () => {
    const { req, body } = await smithyStream(chunks, undefined);
    const auth = verifyRequest(req, sdkSecretOf, NOW);
    expect(auth.region).toBe('eu-west-3');
    const r = await run(auth.payload, req.headers, body, 333);
    expect(r.err).toBeUndefined();
    expect(r.out.equals(all)).toBe(true);
  });

  it('with a signed CRC32C trailer: verified, and recorded as the object checksum', async () => {
    const trailer = { name: 'x-amz-checksum-crc32c', value: crc32cBase64(all) };
    const { req, body } = await smithyStream(chunks, trailer);
    const dec = awsChunkedDecoder(verifyRequest(req, sdkSecretOf, NOW).payload, req.headers);
    const out: Buffer[] = [];
    dec.on('data', (b: Buffer) => out.push(b));
    await new Promise<void>((resolve, reject) => {
      dec.on('end', resolve).on('error', reject);
      dec.end(body);
    });
    expect(Buffer.concat(out).equals(all)).toBe(true);
    expect(dec.checksum).toEqual({ algorithm: 'CRC32C', value: trailer.value });
  });

  it('a trailer signed over a wrong checksum is BadDigest; an altered trailer is SignatureDoesNotMatch', async () => {
    const wrong = { name: 'x-amz-checksum-crc32c', value: crc32cBase64(Buffer.from('other')) };
    const a = await smithyStream(chunks, wrong);
    const r1 = await run(verifyRequest(a.req, sdkSecretOf, NOW).payload, a.req.headers, a.body);
    expect(r1.err?.detail).toBe('BadDigest');
    expect(r1.err?.message).toBe('The CRC32C you specified did not match the calculated checksum.');

    const right = { name: 'x-amz-checksum-crc32c', value: crc32cBase64(all) };
    const b = await smithyStream(chunks, right);
    const altered = Buffer.from(b.body.toString('latin1').replace(right.value, wrong.value), 'latin1');
    const r2 = await run(verifyRequest(b.req, sdkSecretOf, NOW).payload, b.req.headers, altered);
    expect(r2.err?.detail).toBe('SignatureDoesNotMatch');
    const unsignedTail = Buffer.from(
      b.body.toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''),
      'latin1',
    );
    const r3 = await run(verifyRequest(b.req, sdkSecretOf, NOW).payload, b.req.headers, unsignedTail);
    expect(r3.err?.detail).toBe('SignatureDoesNotMatch');
  });

  it('the wrong secret fails at the seed; a stream signed with another key fails at its first chunk', async () => {
    const { req, body } = await smithyStream(chunks, undefined);
    expect(() => verifyRequest(req, () => 'not-the-secret', NOW)).toThrow(/signature/);
    // Chunks chained from another request's seed (one byte longer, so another signature).
    const other = await smithyStream([Buffer.from('y'.repeat(8193)), ...chunks.slice(1)], undefined);
    const r = await run(verifyRequest(req, sdkSecretOf, NOW).payload, req.headers, other.body);
    expect(r.err?.detail).toBe('SignatureDoesNotMatch');
    expect(r.beforeError).toBe(0);
    expect(body.equals(other.body)).toBe(false);
  });
});

describe('STREAMING-UNSIGNED-PAYLOAD-TRAILER, framed as @aws-sdk/client-s3 frames it', () => {
  const data = Buffer.from('unsigned body with a CRC32 trailer\n'.repeat(100));
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data) >>> 0);
  const headers = {
    'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
    'x-amz-trailer': 'x-amz-checksum-crc32',
    'x-amz-decoded-content-length': String(data.length),
    'content-encoding': 'gzip,aws-chunked',
  };
  const mode: PayloadMode = { kind: 'streaming-unsigned-trailer' };
  const halves = [data.subarray(0, 1000), data.subarray(1000)];
  const body = frame(halves, [], `x-amz-checksum-crc32:${crc.toString('base64')}\r\n\r\n`);

  it('decodes and verifies the trailer; aws-chunked is dropped from the stored encoding', async () => {
    const r = await run(mode, headers, body, 17);
    expect(r.err).toBeUndefined();
    expect(r.out.equals(data)).toBe(true);
    expect(storedContentEncoding(headers)).toBe('gzip');
    expect(storedContentEncoding({ 'content-encoding': 'aws-chunked' })).toBeUndefined();
  });

  it('a wrong trailer value is BadDigest; a missing or undeclared trailer is refused', async () => {
    const bad = frame(halves, [], 'x-amz-checksum-crc32:AAAAAA==\r\n\r\n');
    expect((await run(mode, headers, bad)).err?.detail).toBe('BadDigest');
    expect((await run(mode, headers, frame(halves, [], '\r\n'))).err?.detail).toBe('InvalidRequest');
    const undeclared = { ...headers, 'x-amz-trailer': undefined };
    expect((await run(mode, undeclared, body)).err?.detail).toBe('InvalidRequest');
    const sigInUnsigned = frame(
      halves,
      [],
      `x-amz-checksum-crc32:${crc.toString('base64')}\r\nx-amz-trailer-signature:${'0'.repeat(64)}\r\n\r\n`,
    );
    expect((await run(mode, headers, sigInUnsigned)).err).toBeInstanceOf(FdfsError);
  });

  it('"0\\r\\n" and the end, as the SDK sends a body without checksum, is complete', async () => {
    const plain = { ...headers, 'x-amz-trailer': undefined };
    const r = await run(mode, plain, frame(halves, [], ''));
    expect(r.err).toBeUndefined();
    expect(r.out.equals(data)).toBe(true);
  });

  it('unsigned chunks stream through without waiting for the chunk end', async () => {
    const dec = awsChunkedDecoder(mode, {
      ...headers,
      'x-amz-decoded-content-length': String(1 << 20),
      'x-amz-trailer': undefined,
    });
    let seen = 0;
    dec.on('data', (b: Buffer) => {
      seen += b.length;
    });
    dec.write(Buffer.from(`${(1 << 20).toString(16)}\r\n`));
    dec.write(Buffer.alloc(5000, 1));
    await new Promise((r) => setImmediate(r));
    expect(seen).toBe(5000);
    dec.destroy();
  });

  it('a payload mode that is not streaming cannot be decoded as aws-chunked', () => {
    expect(() => awsChunkedDecoder({ kind: 'unsigned' }, headers)).toThrow(FdfsError);
  });
});
