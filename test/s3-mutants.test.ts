/**
 * Edge cases found by `npm run mutate` over the S3 signature and aws-chunked code: each framing
 * limit at its boundary, each refusal with its own S3 code and message, header parsing corners.
 * Signed streams use the AWS documentation's published example (its request and chunk signatures).
 */
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { FdfsError } from '../src/common/index.js';
import { awsChunkedDecoder, decodedContentLength, storedContentEncoding } from '../src/s3/chunked.js';
import { MAX_SKEW_MS, parseQuery, verifyRequest } from '../src/s3/sigv4.js';
import { canonicalQuery, strictPath } from '../src/s3/sigv4-canonical.js';
import { formatAmzDate, parseAmzDate } from '../src/s3/sigv4-parse.js';
import type { PayloadMode, S3Request } from '../src/s3/sigv4-types.js';
import { AK, DOC_SIGS, docRequest, NOW, SECRET, secretOf } from './helpers/aws-chunked-example.js';
import { smithySigner, wireQuery } from './helpers/s3-smithy-signer.js';

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

// --- SigV4 --------------------------------------------------------------------------------------
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A request signed by the SDK's signer (independent of src/s3), as it would arrive. */
async function sdkSigned(
  headers: Record<string, string>,
  opts: { path?: string; query?: Record<string, string>; region?: string; method?: string } = {},
): Promise<S3Request> {
  const signer = smithySigner(AK, SECRET, opts.region ?? 'us-east-1');
  const query = opts.query ?? {};
  const r = await signer.sign(
    {
      method: opts.method ?? 'GET',
      protocol: 'http:',
      hostname: 'h',
      path: opts.path ?? '/b/k',
      query,
      headers: { host: 'h', ...headers },
    },
    { signingDate: new Date(NOW) },
  );
  return {
    method: opts.method ?? 'GET',
    rawPath: opts.path ?? '/b/k',
    rawQuery: wireQuery(query),
    headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

function failure(f: () => unknown): { detail: string | undefined; message: string } {
  try {
    f();
  } catch (err) {
    const e = err as FdfsError;
    return { detail: e.detail, message: e.message };
  }
  throw new Error('did not throw');
}

describe('SigV4 payload modes and dates', () => {
  it.each([
    ['UNSIGNED-PAYLOAD', { kind: 'unsigned' }],
    ['STREAMING-UNSIGNED-PAYLOAD-TRAILER', { kind: 'streaming-unsigned-trailer' }],
    ['AB'.repeat(32), { kind: 'sha256', sha256: 'ab'.repeat(32) }],
    ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { kind: 'streaming-signed', trailer: false }],
    ['STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', { kind: 'streaming-signed', trailer: true }],
  ])('x-amz-content-sha256 %s', async (sha, mode) => {
    const req = await sdkSigned({ 'x-amz-content-sha256': sha }, { region: 'eu-central-1' });
    const res = verifyRequest(req, secretOf, NOW);
    expect(res).toMatchObject({ accessKey: AK, presigned: false, region: 'eu-central-1', payload: mode });
  });

  it.each([
    ['ab'.repeat(31), 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER'],
    [`x${'ab'.repeat(32)}`, 'x-amz-content-sha256 must be'],
    [`${'ab'.repeat(32)}x`, 'x-amz-content-sha256 must be'],
    ['unsigned-payload', 'x-amz-content-sha256 must be'],
  ])('refuses x-amz-content-sha256 %s', async (sha, message) => {
    const req = await sdkSigned({ 'x-amz-content-sha256': sha });
    expect(failure(() => verifyRequest(req, secretOf, NOW))).toMatchObject({ detail: 'InvalidArgument' });
    expect(failure(() => verifyRequest(req, secretOf, NOW)).message).toContain(message);
  });

  it('anonymous: the payload mode still comes from the header; a signed stream needs a signature', () => {
    const anon = (headers: Record<string, string>): S3Request => ({
      method: 'PUT',
      rawPath: '/b/k',
      rawQuery: 'x-id=PutObject',
      headers: { host: 'h', ...headers },
    });
    expect(
      verifyRequest(anon({ 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' }), secretOf, NOW),
    ).toEqual({
      accessKey: undefined,
      payload: { kind: 'streaming-unsigned-trailer' },
      presigned: false,
      region: '',
    });
    expect(
      failure(() =>
        verifyRequest(anon({ 'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' }), secretOf, NOW),
      ),
    ).toEqual({
      detail: 'InvalidArgument',
      message: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD needs a signed Authorization header',
    });
    // SigV2 query parameters are not anonymous: an incomplete set is refused, never served.
    expect(
      failure(() => verifyRequest({ ...anon({}), rawQuery: 'AWSAccessKeyId=x' }, secretOf, NOW)),
    ).toEqual({
      detail: 'AccessDenied',
      message: 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters',
    });
    expect(failure(() => verifyRequest({ ...anon({}), rawQuery: 'Signature=x' }, secretOf, NOW)).detail).toBe(
      'AccessDenied',
    );
  });

  it('the clock may be off by exactly MAX_SKEW_MS, not more; errors say which check failed', async () => {
    expect(MAX_SKEW_MS).toBe(900_000);
    const req = await sdkSigned({ 'x-amz-content-sha256': EMPTY });
    expect(verifyRequest(req, secretOf, NOW + MAX_SKEW_MS).accessKey).toBe(AK);
    expect(verifyRequest(req, secretOf, NOW - MAX_SKEW_MS).accessKey).toBe(AK);
    expect(failure(() => verifyRequest(req, secretOf, NOW + MAX_SKEW_MS + 1))).toEqual({
      detail: 'RequestTimeTooSkewed',
      message: 'the difference between the request time and the current time is too large',
    });
    expect(failure(() => verifyRequest(req, secretOf, NOW - MAX_SKEW_MS - 1)).detail).toBe(
      'RequestTimeTooSkewed',
    );
    expect(failure(() => verifyRequest(req, () => undefined, NOW))).toEqual({
      detail: 'InvalidAccessKeyId',
      message: 'the AWS access key id you provided does not exist in our records',
    });
    expect(failure(() => verifyRequest({ ...req, method: 'PUT' }, secretOf, NOW))).toEqual({
      detail: 'SignatureDoesNotMatch',
      message:
        'the request signature we calculated does not match the signature you provided; check your key and signing method',
    });
    const unsignedAmz = { ...req, headers: { ...req.headers, 'x-amz-acl': 'private' } };
    expect(failure(() => verifyRequest(unsignedAmz, secretOf, NOW))).toEqual({
      detail: 'AccessDenied',
      message: 'there were headers present in the request which were not signed: x-amz-acl',
    });
    // An x-amz-* name that is present but undefined (as node:http never sends) is not a header.
    expect(
      verifyRequest({ ...req, headers: { ...req.headers, 'x-amz-acl': undefined } }, secretOf, NOW).accessKey,
    ).toBe(AK);
    const noSha = { ...req, headers: { ...req.headers, 'x-amz-content-sha256': undefined } };
    expect(failure(() => verifyRequest(noSha, secretOf, NOW))).toEqual({
      detail: 'InvalidRequest',
      message: 'missing required header for this request: x-amz-content-sha256',
    });
    const both = { ...req, rawQuery: 'X-Amz-Credential=x' };
    expect(failure(() => verifyRequest(both, secretOf, NOW))).toEqual({
      detail: 'InvalidArgument',
      message: 'only one auth mechanism allowed: the Authorization header or X-Amz-* query parameters',
    });
  });

  it('without x-amz-date, a Date header in either format dates the request', async () => {
    const req = await sdkSigned({ 'x-amz-content-sha256': EMPTY });
    const withDate = (date: string | undefined) => ({
      ...req,
      headers: { ...req.headers, 'x-amz-date': undefined, date },
    });
    // The date is read (skew and scope pass) and only then the signature fails: x-amz-date was signed.
    for (const d of ['Fri, 24 May 2013 00:00:00 GMT', '20130524T000000Z']) {
      expect(failure(() => verifyRequest(withDate(d), secretOf, NOW)).detail).toBe('SignatureDoesNotMatch');
    }
    expect(
      failure(() => verifyRequest(withDate('Fri, 24 May 2013 01:00:00 GMT'), secretOf, NOW)).detail,
    ).toBe('RequestTimeTooSkewed');
    for (const d of [undefined, 'not a date']) {
      expect(failure(() => verifyRequest(withDate(d), secretOf, NOW))).toEqual({
        detail: 'AccessDenied',
        message: 'AWS authentication requires a valid Date or x-amz-date header',
      });
    }
    // A malformed x-amz-date is not rescued by a good Date header.
    const bad = {
      ...req,
      headers: { ...req.headers, 'x-amz-date': '20130524T000000', date: 'Fri, 24 May 2013 00:00:00 GMT' },
    };
    expect(failure(() => verifyRequest(bad, secretOf, NOW)).detail).toBe('AccessDenied');
    // A credential dated another day than the request.
    const nextDay = await sdkSigned({ 'x-amz-content-sha256': EMPTY });
    const auth = (nextDay.headers.authorization as string).replace('/20130524/', '/20130525/');
    expect(
      failure(() =>
        verifyRequest({ ...nextDay, headers: { ...nextDay.headers, authorization: auth } }, secretOf, NOW),
      ),
    ).toEqual({
      detail: 'AuthorizationHeaderMalformed',
      message: 'invalid credential date: it is not the date of x-amz-date',
    });
  });

  it.each([
    ['20130524T000000Z', Date.UTC(2013, 4, 24)],
    ['20000229T235959Z', Date.UTC(2000, 1, 29, 23, 59, 59)],
    ['20130524T000000', undefined],
    ['x20130524T000000Z', undefined],
    ['20130230T000000Z', undefined],
    ['20131324T000000Z', undefined],
    ['20130524T240000Z', undefined],
    ['20130524T006000Z', undefined],
    ['20130524T000060Z', undefined],
    ['2013524T000000Z', undefined],
  ])('parseAmzDate(%s) = %s', (text, ms) => {
    expect(parseAmzDate(text)).toBe(ms);
  });

  it('formatAmzDate writes ISO 8601 basic, whole seconds', () => {
    expect(formatAmzDate(Date.UTC(2013, 4, 24, 1, 2, 3, 456))).toBe('20130524T010203Z');
  });
});

describe('SigV4 presigned edges', () => {
  async function presigned(expiresIn: number, headers: Record<string, string> = {}): Promise<S3Request> {
    const signer = smithySigner(AK, SECRET, 'us-east-1');
    const p = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: 'h',
        path: '/b/k',
        query: {},
        headers: { host: 'h', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers },
      },
      { signingDate: new Date(NOW), expiresIn },
    );
    return {
      method: 'GET',
      rawPath: '/b/k',
      rawQuery: wireQuery(p.query as Record<string, string>),
      headers: { host: 'h', ...headers },
    };
  }

  it('valid from MAX_SKEW_MS before X-Amz-Date to exactly X-Amz-Date + X-Amz-Expires', async () => {
    const req = await presigned(1);
    expect(verifyRequest(req, secretOf, NOW + 1000)).toEqual({
      accessKey: AK,
      payload: { kind: 'unsigned' },
      presigned: true,
      region: 'us-east-1',
    });
    expect(verifyRequest(req, secretOf, NOW - MAX_SKEW_MS).accessKey).toBe(AK);
    expect(failure(() => verifyRequest(req, secretOf, NOW + 1001))).toEqual({
      detail: 'AccessDenied',
      message: 'Request has expired',
    });
    expect(failure(() => verifyRequest(req, secretOf, NOW - MAX_SKEW_MS - 1))).toEqual({
      detail: 'AccessDenied',
      message: 'request is not valid yet',
    });
    const week = await presigned(604800);
    expect(verifyRequest(week, secretOf, NOW + 604800_000).accessKey).toBe(AK);
  });

  it.each([
    [
      'X-Amz-Date=20130524T000000Z',
      'X-Amz-Date=20130525T000000Z',
      'invalid credential date: it is not the date of X-Amz-Date',
    ],
    ['X-Amz-Date=20130524T000000Z', 'X-Amz-Date=2013-05-24', 'X-Amz-Date must be in ISO 8601 basic format'],
    ['X-Amz-Expires=60', 'X-Amz-Expires=1234567', 'X-Amz-Expires must be a whole number of seconds'],
    ['X-Amz-Expires=60', 'X-Amz-Expires=0', 'X-Amz-Expires must be at least 1 second'],
    [
      'X-Amz-Expires=60',
      'X-Amz-Expires=604801',
      'X-Amz-Expires must be less than a week (in seconds) that is 604800',
    ],
    [
      'X-Amz-Algorithm=AWS4-HMAC-SHA256',
      'X-Amz-Algorithm=AWS4',
      'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
    ],
    ['X-Amz-SignedHeaders=host', 'X-Amz-SignedHeaders=Host', 'the SignedHeaders list is malformed'],
    ['X-Amz-SignedHeaders=host', 'X-Amz-SignedHeaders=x-amz-date', 'the host header must be signed'],
    [
      'X-Amz-SignedHeaders=host',
      'X-Amz-Foo=1&X-Amz-Foo=2&X-Amz-SignedHeaders=host',
      'the query repeats X-Amz-Foo',
    ],
    [
      'X-Amz-SignedHeaders=host&',
      '',
      'query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature parameters',
    ],
  ])('%s → %s: %s', async (from, to, message) => {
    const req = await presigned(60);
    expect(req.rawQuery).toContain(from);
    const bad = { ...req, rawQuery: req.rawQuery.replace(from, to) };
    expect(failure(() => verifyRequest(bad, secretOf, NOW))).toEqual({
      detail: 'AuthorizationQueryParametersError',
      message,
    });
  });
});

describe('SigV4 Authorization header parsing', () => {
  const base = async () => sdkSigned({ 'x-amz-content-sha256': EMPTY });
  const withAuth = (req: S3Request, auth: string): S3Request => ({
    ...req,
    headers: { ...req.headers, authorization: auth },
  });

  it('spaces after the commas are allowed', async () => {
    const req = await base();
    const spaced = (req.headers.authorization as string).replace(/,/g, ',  ');
    expect(verifyRequest(withAuth(req, spaced), secretOf, NOW).accessKey).toBe(AK);
  });

  it.each([
    [
      (a: string) => a.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256x '),
      'InvalidArgument',
      'unsupported authorization type "AWS4-HMAC-SHA256x"; use AWS4-HMAC-SHA256',
    ],
    [() => 'AWS4-HMAC-SHA256', 'AuthorizationHeaderMalformed', 'the authorization header is malformed'],
    [(a: string) => `${a},=x`, 'AuthorizationHeaderMalformed', 'the authorization header is malformed'],
    [
      (a: string) => `${a},Signature=${'0'.repeat(64)}`,
      'AuthorizationHeaderMalformed',
      'the authorization header repeats Signature',
    ],
    [
      (a: string) => a.replace('Credential=', 'Credentials='),
      'AuthorizationHeaderMalformed',
      'the authorization header needs exactly Credential, SignedHeaders and Signature',
    ],
    [
      (a: string) => a.replace('SignedHeaders=', 'Signed='),
      'AuthorizationHeaderMalformed',
      'needs exactly Credential',
    ],
    [
      (a: string) => a.replace(/Signature=/, 'Sig='),
      'AuthorizationHeaderMalformed',
      'needs exactly Credential',
    ],
    [
      (a: string) => a.replace(/Signature=([0-9a-f]+)/, (_m, s: string) => `Signature=${s.toUpperCase()}`),
      'AuthorizationHeaderMalformed',
      'the Signature is not 64 lower-case hex digits',
    ],
    [
      (a: string) => a.replace(/Signature=([0-9a-f]+)/, (_m, s: string) => `Signature=${s}0`),
      'AuthorizationHeaderMalformed',
      'the Signature is not 64 lower-case hex digits',
    ],
    [
      (a: string) => a.replace(/Signature=([0-9a-f]+)/, (_m, s: string) => `Signature=x${s.slice(1)}`),
      'AuthorizationHeaderMalformed',
      'the Signature is not 64 lower-case hex digits',
    ],
    [
      (a: string) => a.replace(`${AK}/`, '/'),
      'AuthorizationHeaderMalformed',
      'the Credential is malformed; expecting "<ACCESS-KEY>/YYYYMMDD/REGION/SERVICE/aws4_request"',
    ],
    [
      (a: string) => a.replace('/us-east-1/', '//'),
      'AuthorizationHeaderMalformed',
      'the Credential is malformed',
    ],
    [
      (a: string) => a.replace('/aws4_request', '/aws4_request/x'),
      'AuthorizationHeaderMalformed',
      'the Credential is malformed',
    ],
    [
      (a: string) => a.replace('/aws4_request', '/'),
      'AuthorizationHeaderMalformed',
      'the Credential is malformed',
    ],
    [(a: string) => a.replace('/s3/', '//'), 'AuthorizationHeaderMalformed', 'the Credential is malformed'],
    [
      (a: string) => a.replace('/20130524/', '//'),
      'AuthorizationHeaderMalformed',
      'the Credential is malformed',
    ],
    [
      (a: string) => a.replace('/20130524/', '/2013052/'),
      'AuthorizationHeaderMalformed',
      'invalid credential date "2013052"',
    ],
    [
      (a: string) => a.replace('/20130524/', '/x20130524/'),
      'AuthorizationHeaderMalformed',
      'invalid credential date "x20130524"',
    ],
    [
      (a: string) => a.replace('/20130524/', '/20130524x/'),
      'AuthorizationHeaderMalformed',
      'invalid credential date "20130524x"',
    ],
    [
      (a: string) => a.replace('/s3/', '/S3/'),
      'AuthorizationHeaderMalformed',
      'the credential is for service "S3"; expecting "s3"',
    ],
    [
      (a: string) => a.replace('/aws4_request', '/aws4_requesT'),
      'AuthorizationHeaderMalformed',
      'the credential ends with "aws4_requesT"; expecting "aws4_request"',
    ],
    [
      (a: string) => a.replace('SignedHeaders=host;', 'SignedHeaders=host;;'),
      'AuthorizationHeaderMalformed',
      'the SignedHeaders list is malformed',
    ],
    [
      (a: string) => a.replace('SignedHeaders=host;', 'SignedHeaders=Host;'),
      'AuthorizationHeaderMalformed',
      'the SignedHeaders list is malformed',
    ],
    [
      (a: string) => a.replace('SignedHeaders=host;', 'SignedHeaders=hosts;'),
      'AuthorizationHeaderMalformed',
      'the host header must be signed',
    ],
  ])('%#: %s %s', async (edit, detail, message) => {
    const req = await base();
    const res = failure(() =>
      verifyRequest(withAuth(req, edit(req.headers.authorization as string)), secretOf, NOW),
    );
    expect(res.detail).toBe(detail);
    expect(res.message).toContain(message);
  });

  it('odd but legal header names may be signed', async () => {
    const req = await sdkSigned({ 'x-amz-content-sha256': EMPTY, "x-a!#$%&'*+.^_`|~9": 'v' });
    expect(verifyRequest(req, secretOf, NOW).accessKey).toBe(AK);
  });
});

describe('SigV4 canonical forms', () => {
  it('parseQuery: empty parts skipped, no "=" means an empty value, bad escapes kept raw', () => {
    expect(parseQuery('')).toEqual([]);
    expect(parseQuery('&a&&b=1=2&%zz=%E0%A4%A&c%20d=e%2Bf')).toEqual([
      { name: 'a', value: '' },
      { name: 'b', value: '1=2' },
      { name: '%zz', value: '%E0%A4%A' },
      { name: 'c d', value: 'e+f' },
    ]);
  });

  it('canonicalQuery sorts by encoded name then value and skips the signature parameter', () => {
    const q = parseQuery('b=2&a=2&a=1&A=3&X-Amz-Signature=s&c=%20~');
    expect(canonicalQuery(q, 'X-Amz-Signature')).toBe('A=3&a=1&a=2&b=2&c=%20~');
    expect(canonicalQuery(q)).toBe('A=3&X-Amz-Signature=s&a=1&a=2&b=2&c=%20~');
    expect(canonicalQuery(parseQuery('a=1&a=1'))).toBe('a=1&a=1');
  });

  it('strictPath: the strict re-encoding, only when it differs from the path as sent', () => {
    expect(strictPath('')).toBeUndefined();
    expect(strictPath('/b/k')).toBeUndefined();
    expect(strictPath('/b/a$b!')).toBe('/b/a%24b%21');
    expect(strictPath('/b/%zz$')).toBeUndefined();
    expect(strictPath('/b/%7e')).toBe('/b/~');
  });
});

describe('aws-chunked: survivors of the first mutation run', () => {
  it('refusals at construction carry their S3 codes', () => {
    expect(failure(() => awsChunkedDecoder({ kind: 'unsigned' }, len(1))).detail).toBe('InvalidArgument');
    const t = { ...docRequest.headers, 'x-amz-trailer': 'x-amz-checksum-crc32' };
    expect(failure(() => awsChunkedDecoder(docMode(), t))).toEqual({
      detail: 'InvalidRequest',
      message: 'x-amz-trailer needs a -TRAILER x-amz-content-sha256',
    });
  });

  it('a body cut inside a trailer line is incomplete even with no trailer declared', async () => {
    const r = await run(unsigned, len(0), '0\r\nx');
    expect(r.err?.message).toBe('the aws-chunked body ended before its final chunk');
  });

  it('the signed chunk header is anchored at both ends', async () => {
    const sig = DOC_SIGS[0] as string;
    const before = docBody()
      .toString('latin1')
      .replace(`10000;chunk-signature=${sig}`, `x10000;chunk-signature=${sig}`);
    expect((await run(docMode(), docRequest.headers, before)).err?.message).toContain(
      'malformed chunk header',
    );
    const after = docBody()
      .toString('latin1')
      .replace(`10000;chunk-signature=${sig}`, `10000;chunk-signature=${sig}x`);
    expect((await run(docMode(), docRequest.headers, after)).err?.message).toContain(
      'malformed chunk header',
    );
  });

  it('the signed-chunk cap does not apply to unsigned chunks', async () => {
    const r = await run(unsigned, len(10), 'a\r\n0123456789\r\n0\r\n\r\n', { maxSignedChunk: 4 });
    expect(r.err).toBeUndefined();
    expect(r.out.toString()).toBe('0123456789');
  });

  it('an undeclared trailer is named by its first 64 characters only', async () => {
    const name = `x-${'n'.repeat(100)}`;
    const r = await run(unsigned, len(0), `0\r\n${name}:v\r\n\r\n`);
    expect(r.err?.message).toBe(`trailer "${name.slice(0, 64)}" was not declared in x-amz-trailer`);
  });

  it('an unknown x-amz-content-sha256 is refused with the whole list of accepted forms', async () => {
    const req = await sdkSigned({ 'x-amz-content-sha256': 'nope' });
    expect(failure(() => verifyRequest(req, secretOf, NOW))).toEqual({
      detail: 'InvalidArgument',
      message:
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' +
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] or a valid sha256 value',
    });
  });
});
