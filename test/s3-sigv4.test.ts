/**
 * verifyRequest against the worked examples of the AWS S3 SigV4 documentation ("Signature
 * Calculations for the Authorization Header", "Authenticating Requests: Using Query Parameters").
 * Expected signatures are AWS's, copied from those pages, not computed here.
 */
import { describe, expect, it } from 'vitest';
import { FdfsError } from '../src/common/index.js';
import { parseQuery, verifyRequest } from '../src/s3/sigv4.js';
import type { S3Request } from '../src/s3/sigv4-types.js';
import { smithySigner, wireQuery } from './helpers/s3-smithy-signer.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const secretOf = (k: string) => (k === AK ? SECRET : undefined);
const NOW = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SCOPE = `${AK}/20130524/us-east-1/s3/aws4_request`;

function auth(signed: string, sig: string): string {
  return `AWS4-HMAC-SHA256 Credential=${SCOPE},SignedHeaders=${signed},Signature=${sig}`;
}

const getObject: S3Request = {
  method: 'GET',
  rawPath: '/test.txt',
  rawQuery: '',
  headers: {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': EMPTY,
    'x-amz-date': '20130524T000000Z',
    authorization: auth(
      'host;range;x-amz-content-sha256;x-amz-date',
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    ),
  },
};

const putObject: S3Request = {
  method: 'PUT',
  rawPath: '/test%24file.text',
  rawQuery: '',
  headers: {
    host: 'examplebucket.s3.amazonaws.com',
    date: 'Fri, 24 May 2013 00:00:00 GMT',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    authorization: auth(
      'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
      '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    ),
  },
};

function bucketGet(rawQuery: string, sig: string): S3Request {
  return {
    method: 'GET',
    rawPath: '/',
    rawQuery,
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-content-sha256': EMPTY,
      authorization: auth('host;x-amz-content-sha256;x-amz-date', sig),
    },
  };
}
const lifecycle = bucketGet('lifecycle', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
const listObjects = bucketGet(
  'max-keys=2&prefix=J',
  '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
);

const presignedGet: S3Request = {
  method: 'GET',
  rawPath: '/test.txt',
  rawQuery:
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
    '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
    '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  headers: { host: 'examplebucket.s3.amazonaws.com' },
};

function detailOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FdfsError);
    return (err as FdfsError).detail;
  }
  return 'no error';
}

function withHeader(r: S3Request, name: string, value: string | undefined): S3Request {
  return { ...r, headers: { ...r.headers, [name]: value } };
}

describe('SigV4 header auth: AWS documentation examples', () => {
  it.each([
    ['GET object with Range', getObject],
    ['PUT object, $ in the key, Date and x-amz-storage-class signed', putObject],
    ['GET bucket lifecycle (value-less query parameter)', lifecycle],
    ['GET bucket list (query sorted and encoded)', listObjects],
  ])('%s verifies', (_name, r) => {
    const res = verifyRequest(r, secretOf, NOW);
    expect(res).toMatchObject({ accessKey: AK, presigned: false, region: 'us-east-1' });
  });

  it('payload modes come from x-amz-content-sha256', () => {
    expect(verifyRequest(putObject, secretOf, NOW).payload).toEqual({
      kind: 'sha256',
      sha256: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    });
  });

  it('any change to a signed part is SignatureDoesNotMatch', () => {
    const variants: S3Request[] = [
      { ...getObject, method: 'HEAD' },
      { ...getObject, rawPath: '/test.txT' },
      { ...getObject, rawPath: '/test.txt/' },
      { ...getObject, rawQuery: 'x=1' },
      withHeader(getObject, 'range', 'bytes=0-10'),
      withHeader(getObject, 'host', 'otherbucket.s3.amazonaws.com'),
      withHeader(getObject, 'x-amz-date', '20130524T000001Z'),
      { ...listObjects, rawQuery: 'max-keys=3&prefix=J' },
      { ...listObjects, rawQuery: 'max-keys=2&prefix=j' },
      { ...putObject, rawPath: '/test%2524file.text' }, // encoded twice is another key
    ];
    for (const v of variants)
      expect(detailOf(() => verifyRequest(v, secretOf, NOW))).toBe('SignatureDoesNotMatch');
  });

  it('header values are compared trimmed and with inner whitespace collapsed', () => {
    expect(verifyRequest(withHeader(getObject, 'range', '  bytes=0-9 '), secretOf, NOW).accessKey).toBe(AK);
    expect(
      verifyRequest(withHeader(putObject, 'date', 'Fri,  24 May 2013\t00:00:00 GMT'), secretOf, NOW)
        .accessKey,
    ).toBe(AK);
  });

  it('a path sent with a raw $ still verifies against the %24 the client signed', () => {
    expect(verifyRequest({ ...putObject, rawPath: '/test$file.text' }, secretOf, NOW).accessKey).toBe(AK);
  });

  it('a wrong secret, an unknown key, a skewed clock', () => {
    expect(detailOf(() => verifyRequest(getObject, () => `${SECRET}x`, NOW))).toBe('SignatureDoesNotMatch');
    expect(detailOf(() => verifyRequest(getObject, () => undefined, NOW))).toBe('InvalidAccessKeyId');
    const min = 60_000;
    expect(verifyRequest(getObject, secretOf, NOW + 15 * min).accessKey).toBe(AK);
    expect(verifyRequest(getObject, secretOf, NOW - 15 * min).accessKey).toBe(AK);
    expect(detailOf(() => verifyRequest(getObject, secretOf, NOW + 15 * min + 1000))).toBe(
      'RequestTimeTooSkewed',
    );
    expect(detailOf(() => verifyRequest(getObject, secretOf, NOW - 15 * min - 1000))).toBe(
      'RequestTimeTooSkewed',
    );
  });

  it('malformed or incomplete authorization', () => {
    const a = getObject.headers.authorization as string;
    const cases: [string | undefined, string, string][] = [
      ['authorization', a.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA512'), 'InvalidArgument'],
      // SigV2 (sigv2.ts): checked as such, and this one signs something else.
      ['authorization', `AWS ${AK}:frJIUN8DYpKDtOLCwo//yllqDzg=`, 'SignatureDoesNotMatch'],
      ['authorization', a.replace('/s3/', '/ec2/'), 'AuthorizationHeaderMalformed'],
      ['authorization', a.replace('aws4_request', 'aws5_request'), 'AuthorizationHeaderMalformed'],
      ['authorization', a.replace('/20130524/', '/20130523/'), 'AuthorizationHeaderMalformed'],
      ['authorization', a.replace(',Signature=', ',Signature=0'), 'AuthorizationHeaderMalformed'],
      ['authorization', a.replace('SignedHeaders=host;', 'SignedHeaders='), 'AuthorizationHeaderMalformed'],
      ['authorization', a.replace(',SignedHeaders', ',Foo=1,SignedHeaders'), 'AuthorizationHeaderMalformed'],
      ['authorization', a.replace(/,Signature=.*/, ''), 'AuthorizationHeaderMalformed'],
      ['x-amz-date', undefined as unknown as string, 'AccessDenied'],
      ['x-amz-date', '2013-05-24T00:00:00Z', 'AccessDenied'],
      ['x-amz-content-sha256', undefined as unknown as string, 'InvalidRequest'],
      ['x-amz-content-sha256', 'abc', 'InvalidArgument'],
      ['x-amz-meta-extra', 'added after signing', 'AccessDenied'],
    ];
    for (const [name, value, code] of cases) {
      const r = withHeader(getObject, name as string, value);
      expect([name, value, detailOf(() => verifyRequest(r, secretOf, NOW))]).toEqual([name, value, code]);
    }
  });

  it('anonymous requests carry no access key; both auth mechanisms at once are refused', () => {
    const anon: S3Request = { method: 'GET', rawPath: '/b/k', rawQuery: '', headers: { host: 'h' } };
    expect(verifyRequest(anon, secretOf, NOW)).toEqual({
      accessKey: undefined,
      payload: { kind: 'unsigned' },
      presigned: false,
      region: '',
    });
    const both = withHeader(presignedGet, 'authorization', getObject.headers.authorization);
    expect(detailOf(() => verifyRequest(both, secretOf, NOW))).toBe('InvalidArgument');
    // A SigV2 query beside a SigV4 header is two mechanisms too.
    const v2Query = { ...getObject, rawQuery: `AWSAccessKeyId=${AK}&Signature=y&Expires=1` };
    expect(detailOf(() => verifyRequest(v2Query, secretOf, NOW))).toBe('InvalidArgument');
  });
});

describe('SigV4 presigned query: AWS documentation example', () => {
  it('verifies, as UNSIGNED-PAYLOAD, until X-Amz-Date + X-Amz-Expires', () => {
    expect(verifyRequest(presignedGet, secretOf, NOW)).toEqual({
      accessKey: AK,
      payload: { kind: 'unsigned' },
      presigned: true,
      region: 'us-east-1',
    });
    expect(verifyRequest(presignedGet, secretOf, NOW + 86400_000).accessKey).toBe(AK);
    expect(detailOf(() => verifyRequest(presignedGet, secretOf, NOW + 86400_000 + 1000))).toBe(
      'AccessDenied',
    );
  });

  it('refuses tampering, an expiry outside 1..604800 and missing parameters', () => {
    const q = presignedGet.rawQuery;
    const cases: [string, string][] = [
      [q.replace('aeeed9', 'aeeed8'), 'SignatureDoesNotMatch'],
      [q.replace('Expires=86400', 'Expires=86401'), 'SignatureDoesNotMatch'],
      [`${q}&x-id=GetObject`, 'SignatureDoesNotMatch'],
      [q.replace('Expires=86400', 'Expires=604801'), 'AuthorizationQueryParametersError'],
      [q.replace('Expires=86400', 'Expires=0'), 'AuthorizationQueryParametersError'],
      [q.replace('Expires=86400', 'Expires=-1'), 'AuthorizationQueryParametersError'],
      [q.replace('&X-Amz-SignedHeaders=host', ''), 'AuthorizationQueryParametersError'],
      [q.replace('SignedHeaders=host', 'SignedHeaders=range'), 'AuthorizationQueryParametersError'],
      [
        q.replace('X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Algorithm=AWS4-HMAC-SHA1'),
        'AuthorizationQueryParametersError',
      ],
      [
        q.replace('X-Amz-Date=20130524T000000Z', 'X-Amz-Date=20130524T000000'),
        'AuthorizationQueryParametersError',
      ],
      [`${q}&X-Amz-Date=20130524T000000Z`, 'AuthorizationQueryParametersError'],
      [q.replace(AK, 'AKIAOTHER'), 'InvalidAccessKeyId'],
    ];
    for (const [rawQuery, code] of cases) {
      expect([rawQuery, detailOf(() => verifyRequest({ ...presignedGet, rawQuery }, secretOf, NOW))]).toEqual(
        [rawQuery, code],
      );
    }
    expect(detailOf(() => verifyRequest(withHeader(presignedGet, 'x-amz-meta-a', 'b'), secretOf, NOW))).toBe(
      'AccessDenied',
    );
    // Not valid before its X-Amz-Date (beyond the allowed skew).
    expect(detailOf(() => verifyRequest(presignedGet, secretOf, NOW - 16 * 60_000))).toBe('AccessDenied');
  });
});

describe('the query has one reading: + is a plus, as the SDK signs it', () => {
  async function signed(query: Record<string, string>): Promise<S3Request> {
    const signer = smithySigner(AK, SECRET, 'us-east-1');
    const base = {
      method: 'GET',
      protocol: 'http:',
      hostname: 'h',
      path: '/b',
      query,
      headers: { host: 'h' },
    };
    const r = await signer.sign(
      { ...base, headers: { host: 'h', 'x-amz-content-sha256': EMPTY } },
      { signingDate: new Date(NOW) },
    );
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
    return { method: 'GET', rawPath: '/b', rawQuery: wireQuery(query), headers };
  }

  it('a raw + verifies as the plus the client signed, and parseQuery reads it the same way', async () => {
    const r = await signed({ prefix: 'a+b c', 'list-type': '2' });
    expect(r.rawQuery).toBe('prefix=a%2Bb%20c&list-type=2');
    expect(verifyRequest(r, secretOf, NOW).accessKey).toBe(AK);
    const raw = { ...r, rawQuery: 'prefix=a+b%20c&list-type=2' };
    expect(verifyRequest(raw, secretOf, NOW).accessKey).toBe(AK);
    expect(parseQuery(raw.rawQuery)).toEqual([
      { name: 'prefix', value: 'a+b c' },
      { name: 'list-type', value: '2' },
    ]);
  });

  it('a + on the wire never stands for a signed space', async () => {
    const r = await signed({ prefix: 'a b' });
    expect(detailOf(() => verifyRequest({ ...r, rawQuery: 'prefix=a+b' }, secretOf, NOW))).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('a presigned URL with a hex X-Amz-Content-Sha256 binds the body to it', async () => {
    const sha = 'ab'.repeat(32);
    const signer = smithySigner(AK, SECRET, 'us-east-1');
    const p = await signer.presign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: 'h',
        path: '/b/k',
        query: {},
        headers: { host: 'h', 'X-Amz-Content-Sha256': sha },
      },
      { signingDate: new Date(NOW), expiresIn: 60 },
    );
    const req: S3Request = {
      method: 'PUT',
      rawPath: '/b/k',
      rawQuery: wireQuery(p.query as Record<string, string>),
      headers: { host: 'h' },
    };
    expect(verifyRequest(req, secretOf, NOW)).toMatchObject({
      presigned: true,
      payload: { kind: 'sha256', sha256: sha },
    });
    const other = { ...req, rawQuery: req.rawQuery.replace(sha, 'cd'.repeat(32)) };
    expect(detailOf(() => verifyRequest(other, secretOf, NOW))).toBe('SignatureDoesNotMatch');
  });
});
