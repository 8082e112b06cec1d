/**
 * Edge cases found by `npm run mutate` over the S3 signature and aws-chunked code: each framing
 * limit at its boundary, each refusal with its own S3 code and message, header parsing corners.
 * Signed streams use the AWS documentation's published example (its request and chunk signatures).
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { FdfsError } from '../src/common/index.js';
import { awsChunkedDecoder, decodedContentLength, storedContentEncoding } from '../src/s3/chunked.js';
import { verifyRequest } from '../src/s3/sigv4.js';
import type { PayloadMode, S3Request } from '../src/s3/sigv4-types.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const secretOf = (k: string) => (k === AK ? SECRET : undefined);
const NOW = Date.UTC(2013, 4, 24, 0, 0, 0);
const docRequest: S3Request = {
  method: 'PUT',
  rawPath: '/examplebucket/chunkObject.txt',
  rawQuery: '',
  headers: {
    host: 's3.amazonaws.com',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    'content-encoding': 'aws-chunked',
    'x-amz-decoded-content-length': '66560',
    'content-length': '66824',
    authorization:
      `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request,` +
      'SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;' +
      'x-amz-decoded-content-length;x-amz-storage-class,' +
      'Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  },
};
const DOC_SIGS = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];
const docData = Buffer.alloc(66560, 'a');
const docBody = (tail = '\r\n') =>
  Buffer.concat([
    Buffer.from(`10000;chunk-signature=${DOC_SIGS[0]}\r\n`),
    docData.subarray(0, 65536),
    Buffer.from(`\r\n400;chunk-signature=${DOC_SIGS[1]}\r\n`),
    docData.subarray(65536),
    Buffer.from(`\r\n0;chunk-signature=${DOC_SIGS[2]}\r\n${tail}`),
  ]);
const docMode = () => verifyRequest(docRequest, secretOf, NOW).payload;

interface Run {
  out: Buffer;
  err: FdfsError | undefined;
  decoded: number;
}

async function run(
  mode: PayloadMode,
  headers: S3Request['headers'],
  body: Buffer | string,
  opts = {},
): Promise<Run> {
  const dec = awsChunkedDecoder(mode, headers, opts);
  const out: Buffer[] = [];
  dec.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise<FdfsError | undefined>((resolve) => {
    dec.on('end', () => resolve(undefined));
    dec.on('error', (e) => resolve(e as FdfsError));
  });
  dec.end(typeof body === 'string' ? Buffer.from(body, 'latin1') : body);
  const err = await ended;
  return { out: Buffer.concat(out), err, decoded: dec.decodedBytes };
}

const unsigned: PayloadMode = { kind: 'streaming-unsigned-trailer' };
const len = (n: number, trailer?: string) => ({
  'x-amz-decoded-content-length': String(n),
  'x-amz-trailer': trailer,
});
const crcOf = (data: Buffer) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(zlib.crc32(data) >>> 0);
  return b.toString('base64');
};

describe('x-amz-decoded-content-length and the stored Content-Encoding', () => {
  it.each([
    ['0', 0],
    ['0012', 12],
    ['9007199254740991', 9007199254740991],
  ])('%s → %d', (value, n) => {
    expect(decodedContentLength({ 'x-amz-decoded-content-length': value })).toBe(n);
  });

  it.each(['', 'x1', '1x', '-1', '1.5', '12345678901234567', '9007199254740992'])('refuses %j', (value) => {
    expect(() => decodedContentLength({ 'x-amz-decoded-content-length': value })).toThrow(
      expect.objectContaining({
        detail: 'InvalidArgument',
        message: 'x-amz-decoded-content-length is not a valid length',
      }),
    );
  });

  it('a missing length is MissingContentLength', () => {
    expect(() => decodedContentLength({})).toThrow(
      expect.objectContaining({
        detail: 'MissingContentLength',
        message: 'aws-chunked uploads need x-amz-decoded-content-length',
      }),
    );
  });

  it.each([
    [undefined, undefined],
    ['', undefined],
    [' , ,', undefined],
    ['AWS-Chunked', undefined],
    ['aws-chunked, gzip', 'gzip'],
    [' gzip , br ,aws-chunked', 'gzip,br'],
  ])('Content-Encoding %j is stored as %j', (value, stored) => {
    expect(storedContentEncoding({ 'content-encoding': value })).toBe(stored);
  });
});

describe('aws-chunked framing at its limits', () => {
  it.each([
    ['A\r\n0123456789\r\n0\r\n\r\n', 10],
    ['a\r\n0123456789\r\n0\r\n\r\n', 10],
    ['000000000A\r\n0123456789\r\n00\r\n\r\n', 10],
    ['5\r\n01234\r\n5\r\n56789\r\n0\r\n', 10],
    ['0\r\n\r\n', 0],
  ])('decodes %j', async (body, n) => {
    const r = await run(unsigned, len(n), body);
    expect(r.err).toBeUndefined();
    expect(r.out.toString()).toBe('0123456789'.slice(0, n));
    expect(r.decoded).toBe(n);
  });

  it.each([
    ['a\r\n0123456789X\n0\r\n\r\n', 10, 'aws-chunked: chunk data is not followed by CRLF'],
    ['a\r\n0123456789\r\r0\r\n\r\n', 10, 'aws-chunked: chunk data is not followed by CRLF'],
    ['a\r\n0123456789\n\r0\r\n\r\n', 10, 'aws-chunked: chunk data is not followed by CRLF'],
    ['0\r\n\r\nx', 0, 'aws-chunked: data after the end of the aws-chunked body'],
    ['0\n\r\n', 0, 'aws-chunked: line not terminated by CRLF'],
    [`${'0'.repeat(256)}\r\n`, 0, 'aws-chunked: chunk header line too long'],
    [`${'0'.repeat(255)}\r\n`, 0, `aws-chunked: malformed chunk header "${'0'.repeat(100)}"`],
    [`${'0'.repeat(17)}\r\n`, 0, 'aws-chunked: malformed chunk header'],
    ['x\r\n', 0, 'aws-chunked: malformed chunk header "x"'],
    [' 1\r\n', 1, 'aws-chunked: malformed chunk header'],
    ['1 \r\n', 1, 'aws-chunked: malformed chunk header'],
    ['100000000\r\n', 0, 'aws-chunked: chunk size out of range'],
    ['ffffffff\r\n', 0, 'the chunks carry more bytes than x-amz-decoded-content-length'],
    ['b\r\n', 10, 'the chunks carry more bytes than x-amz-decoded-content-length'],
    ['9\r\n012345678\r\n0\r\n\r\n', 10, 'the chunks carry fewer bytes than x-amz-decoded-content-length'],
    ['a\r\n0123456789\r\n', 10, 'the aws-chunked body ended before its final chunk'],
    ['a\r\n0123456789\r\n0\r\n\r', 10, 'the aws-chunked body ended before its final chunk'],
    [`0\r\nx-amz-meta:${'v'.repeat(4096)}`, 0, 'aws-chunked: trailer too long'],
    ['0\r\n:v\r\n\r\n', 0, 'aws-chunked: malformed trailer line'],
    ['0\r\nnovalue\r\n\r\n', 0, 'aws-chunked: malformed trailer line'],
    ['0\r\nX-Other : v\r\n\r\n', 0, 'trailer "x-other" was not declared in x-amz-trailer'],
    ['0\r\nx-amz-trailer-signature:00\r\n\r\n', 0, 'aws-chunked: a trailer signature in an unsigned stream'],
  ])('refuses %j (decoded length %d)', async (body, n, message) => {
    const r = await run(unsigned, len(n), body);
    expect(r.err?.detail).toBe(message.includes('not declared') ? 'InvalidRequest' : 'IncompleteBody');
    expect(r.err?.message).toContain(message);
  });

  it('a trailer line may be as long as the trailer cap allows', async () => {
    // 4096 bytes in all: the line, its CRLF, and the closing blank line's CR.
    const line = `x-amz-checksum-crc32:${'A'.repeat(4093 - 21)}`;
    const r = await run(unsigned, len(0, 'x-amz-checksum-crc32'), `0\r\n${line}\r\n\r\n`);
    expect(r.err?.message).toBe('value for x-amz-checksum-crc32 trailing header is invalid');
    const over = await run(unsigned, len(0, 'x-amz-checksum-crc32'), `0\r\n${line}A\r\n\r\n`);
    expect(over.err?.message).toBe('aws-chunked: trailer too long');
  });
});

describe('aws-chunked trailers', () => {
  const data = Buffer.from('trailer checked body');
  const crc = crcOf(data);
  const framed = (tail: string) => `${data.length.toString(16)}\r\n${data.toString()}\r\n0\r\n${tail}`;
  const headers = len(data.length, ' x-amz-checksum-crc32 ');

  it('names and values are trimmed, names case-insensitive; the checksum is kept', async () => {
    const dec = awsChunkedDecoder(unsigned, headers);
    const out: Buffer[] = [];
    dec.on('data', (b: Buffer) => out.push(b));
    const done = new Promise((resolve, reject) => dec.on('end', resolve).on('error', reject));
    expect(dec.checksum).toBeUndefined();
    dec.end(Buffer.from(framed(`X-Amz-Checksum-CRC32 :  ${crc} \r\n\r\n`)));
    await done;
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(dec.checksum).toEqual({ algorithm: 'CRC32', value: crc });
  });

  it.each([
    ['\r\n', 'InvalidRequest', 'the declared trailer x-amz-checksum-crc32 is missing'],
    ['', 'IncompleteBody', 'the aws-chunked body ended before its final chunk'],
    [
      `x-amz-checksum-crc32:${crc}\r\n`,
      'IncompleteBody',
      'the aws-chunked body ended before its final chunk',
    ],
    ['x-amz-checksum-crc32', 'IncompleteBody', 'the aws-chunked body ended before its final chunk'],
    [
      `x-amz-checksum-crc32:${crc}\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`,
      'IncompleteBody',
      'trailer x-amz-checksum-crc32 repeated',
    ],
    [
      'x-amz-checksum-crc32:abc\r\n\r\n',
      'InvalidRequest',
      'value for x-amz-checksum-crc32 trailing header is invalid',
    ],
    ['x-amz-checksum-crc32:AAAAAA==\r\n\r\n', 'BadDigest', 'The CRC32 you specified did not match'],
    [
      'x-amz-checksum-sha1:AAAAAA==\r\n\r\n',
      'InvalidRequest',
      'trailer "x-amz-checksum-sha1" was not declared',
    ],
  ])('tail %j → %s', async (tail, code, message) => {
    const r = await run(unsigned, headers, framed(tail));
    expect(r.err?.detail).toBe(code);
    expect(r.err?.message).toContain(message);
  });

  it('an unknown x-amz-trailer is refused when the decoder is made', () => {
    expect(() => awsChunkedDecoder(unsigned, len(1, 'x-amz-meta-a'))).toThrow(
      'the trailer "x-amz-meta-a" is not an x-amz-checksum- trailer this server knows',
    );
    expect(() => awsChunkedDecoder({ kind: 'unsigned' }, len(1))).toThrow(
      'an aws-chunked body needs a STREAMING-* x-amz-content-sha256, not unsigned',
    );
  });
});

describe('signed aws-chunked edges (AWS documentation example)', () => {
  it('a chunk exactly at the signed-chunk cap passes; one byte over is refused', async () => {
    const at = await run(docMode(), docRequest.headers, docBody(), { maxSignedChunk: 65536 });
    expect(at.err).toBeUndefined();
    expect(at.out.equals(docData)).toBe(true);
    const over = await run(docMode(), docRequest.headers, docBody(), { maxSignedChunk: 65535 });
    expect(over.err?.message).toBe('a signed chunk of 65536 bytes exceeds the 65535-byte limit');
  });

  it('upper-case or short chunk signatures are malformed headers; a wrong final signature fails', async () => {
    const upper = docBody()
      .toString('latin1')
      .replace(DOC_SIGS[0] as string, (DOC_SIGS[0] as string).toUpperCase());
    expect((await run(docMode(), docRequest.headers, upper)).err?.message).toContain(
      'malformed chunk header',
    );
    const noSig = docBody().toString('latin1').replace(`;chunk-signature=${DOC_SIGS[0]}`, '');
    expect((await run(docMode(), docRequest.headers, noSig)).err?.message).toContain(
      'malformed chunk header',
    );
    const lastWrong = docBody()
      .toString('latin1')
      .replace(DOC_SIGS[2] as string, DOC_SIGS[1] as string);
    const r = await run(docMode(), docRequest.headers, lastWrong);
    expect(r.err?.detail).toBe('SignatureDoesNotMatch');
    expect(r.err?.message).toBe('a chunk signature does not match; the chunk was not stored');
    // Both chunks were good, so both came out before the final signature failed.
    expect(r.out.equals(docData)).toBe(true);
  });

  it('a stream signed without -TRAILER takes no trailer: neither declared nor sent', async () => {
    expect(() =>
      awsChunkedDecoder(docMode(), { ...docRequest.headers, 'x-amz-trailer': 'x-amz-checksum-crc32' }),
    ).toThrow('x-amz-trailer needs a -TRAILER x-amz-content-sha256');
    const r = await run(docMode(), docRequest.headers, docBody('x-amz-trailer-signature:00\r\n\r\n'));
    expect(r.err?.message).toBe('aws-chunked: a trailer signature in an unsigned stream');
    // The bare end ("0" chunk, then nothing) is complete for a signed stream without trailer too.
    const bare = await run(docMode(), docRequest.headers, docBody(''));
    expect(bare.err).toBeUndefined();
  });
});
