/**
 * verifyRequest with SigV2 against the worked examples of AWS's "Signing and Authenticating REST
 * Requests" guide (header and query-string authentication). Expected signatures are AWS's, copied
 * from that guide, not computed here. Then each refusal: a changed byte, a stale date, an expired
 * URL, an unknown key, two mechanisms at once, missing query parameters.
 */
import { describe, expect, it } from 'vitest';
import { FdfsError } from '../src/common/index.js';
import { verifyRequest } from '../src/s3/sigv4.js';
import type { S3Request } from '../src/s3/sigv4-types.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const secretOf = (k: string) => (k === AK ? SECRET : undefined);
const at = (date: string) => Date.parse(date);

function failure(fn: () => unknown): { detail: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof FdfsError) return { detail: err.detail, message: err.message };
    throw err;
  }
  throw new Error('no error');
}

/** Virtual-host examples: the bucket is in the Host, and signed in the resource. */
const host = 'awsexamplebucket1.us-west-1.s3.amazonaws.com';
function hosted(
  method: string,
  rawPath: string,
  rawQuery: string,
  headers: Record<string, string>,
): S3Request {
  return { method, rawPath, rawQuery, headers: { host, ...headers }, hostBucket: 'awsexamplebucket1' };
}

const getObject = hosted('GET', '/photos/puppy.jpg', '', {
  date: 'Tue, 27 Mar 2007 19:36:42 +0000',
  authorization: `AWS ${AK}:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=`,
});
const putObject = hosted('PUT', '/photos/puppy.jpg', '', {
  'content-type': 'image/jpeg',
  'content-length': '94328',
  date: 'Tue, 27 Mar 2007 21:15:45 +0000',
  authorization: `AWS ${AK}:iqRzw+ileNPu1fhspnRs8nOjjIA=`,
});
const list = hosted('GET', '/', 'prefix=photos&max-keys=50&marker=puppy', {
  'user-agent': 'Mozilla/5.0',
  date: 'Tue, 27 Mar 2007 19:42:41 +0000',
  authorization: `AWS ${AK}:m0WP8eCtspQl5Ahe6L1SozdX9YA=`,
});
const getAcl = hosted('GET', '/', 'acl', {
  date: 'Tue, 27 Mar 2007 19:44:46 +0000',
  authorization: `AWS ${AK}:82ZHiFIjc+WbcwFKGUVEQspPn+0=`,
});
/** Path style, with x-amz-date taking the place of Date (whose value differs by a second). */
const deleteObject: S3Request = {
  method: 'DELETE',
  rawPath: '/awsexamplebucket1/photos/puppy.jpg',
  rawQuery: '',
  headers: {
    host: 's3.us-west-1.amazonaws.com',
    date: 'Tue, 27 Mar 2007 21:20:27 +0000',
    'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000',
    authorization: `AWS ${AK}:XbyTlbQdu9Xw5o8P4iMwPktxQd8=`,
  },
};
/** Query-string authentication: the guide's presigned GET, valid until Expires (epoch seconds). */
const presigned: S3Request = {
  method: 'GET',
  rawPath: '/photos/puppy.jpg',
  rawQuery: `AWSAccessKeyId=${AK}&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D`,
  headers: { host: 'johnsmith.s3.amazonaws.com' },
  hostBucket: 'johnsmith',
};

const ok = (presignedUrl: boolean) => ({
  accessKey: AK,
  payload: { kind: 'unsigned' },
  presigned: presignedUrl,
  region: '',
});

describe('SigV2 in the Authorization header: AWS guide examples', () => {
  it('verifies GET, PUT (Content-Type signed), a listing (query not signed) and ?acl (signed)', () => {
    expect(verifyRequest(getObject, secretOf, at('2007-03-27T19:36:42Z'))).toEqual(ok(false));
    expect(verifyRequest(putObject, secretOf, at('2007-03-27T21:15:45Z'))).toEqual(ok(false));
    expect(verifyRequest(list, secretOf, at('2007-03-27T19:42:41Z'))).toEqual(ok(false));
    expect(verifyRequest(getAcl, secretOf, at('2007-03-27T19:44:46Z'))).toEqual(ok(false));
    expect(verifyRequest(deleteObject, secretOf, at('2007-03-27T21:20:26Z'))).toEqual(ok(false));
  });

  it('refuses any signed part changed: method, type, date, path, sub-resource, an added x-amz header', () => {
    const now = at('2007-03-27T21:15:45Z');
    const variants: S3Request[] = [
      { ...putObject, method: 'POST' },
      { ...putObject, headers: { ...putObject.headers, 'content-type': 'image/png' } },
      { ...putObject, headers: { ...putObject.headers, 'content-md5': 'XrY7u+Ae7tCTyyK7j1rNww==' } },
      { ...putObject, headers: { ...putObject.headers, date: 'Tue, 27 Mar 2007 21:15:46 +0000' } },
      { ...putObject, headers: { ...putObject.headers, 'x-amz-meta-added': 'yes' } },
      { ...putObject, rawPath: '/photos/kitten.jpg' },
      { ...putObject, hostBucket: 'otherbucket' },
      { ...putObject, rawQuery: 'uploads' },
      {
        ...putObject,
        headers: { ...putObject.headers, authorization: `AWS ${AK}:iqRzw+ileNPu1fhspnRs8nOjjIB=` },
      },
    ];
    for (const r of variants) {
      expect(failure(() => verifyRequest(r, secretOf, now)).detail).toBe('SignatureDoesNotMatch');
    }
    // Not signed, so free to change: Content-Length, another header, a listing parameter.
    const free = { ...putObject.headers, 'content-length': '1', 'user-agent': 'x' };
    expect(verifyRequest({ ...putObject, headers: free }, secretOf, now).accessKey).toBe(AK);
    expect(
      verifyRequest({ ...list, rawQuery: 'prefix=other' }, secretOf, at('2007-03-27T19:42:41Z')),
    ).toEqual(ok(false));
  });

  it('refuses an unknown key, a stale or missing date, a malformed header', () => {
    const now = at('2007-03-27T19:36:42Z');
    const withAuth = (authorization: string) => ({
      ...getObject,
      headers: { ...getObject.headers, authorization },
    });
    expect(
      failure(() => verifyRequest(withAuth('AWS NOBODY:qgk2+6Sv9/oM7G3qLEjTH1a1l1g='), secretOf, now)),
    ).toEqual({
      detail: 'InvalidAccessKeyId',
      message: 'the AWS access key id you provided does not exist in our records',
    });
    expect(failure(() => verifyRequest(getObject, secretOf, now + 15 * 60_000 + 1000)).detail).toBe(
      'RequestTimeTooSkewed',
    );
    expect(verifyRequest(getObject, secretOf, now + 15 * 60_000).accessKey).toBe(AK);
    const { date: _, ...undated } = getObject.headers;
    expect(failure(() => verifyRequest({ ...getObject, headers: undated }, secretOf, now)).detail).toBe(
      'AccessDenied',
    );
    for (const bad of ['AWS ', `AWS ${AK}`, `AWS ${AK}:`, `AWS :sig`, `AWS ${AK}:a b`]) {
      expect(failure(() => verifyRequest(withAuth(bad), secretOf, now)).detail).toBe('InvalidArgument');
    }
  });
});

describe('SigV2 query-string authentication (presigned URLs)', () => {
  const expiresMs = 1175139620 * 1000;

  it('verifies the guide example until Expires, AccessDenied after', () => {
    expect(verifyRequest(presigned, secretOf, expiresMs - 3_600_000)).toEqual(ok(true));
    expect(verifyRequest(presigned, secretOf, expiresMs)).toEqual(ok(true));
    expect(failure(() => verifyRequest(presigned, secretOf, expiresMs + 1))).toEqual({
      detail: 'AccessDenied',
      message: 'Request has expired',
    });
  });

  it('refuses a later Expires, another path or key, a second mechanism, missing parameters', () => {
    const now = expiresMs - 1000;
    const q = (rawQuery: string) => ({ ...presigned, rawQuery });
    const sig = 'Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D';
    expect(
      failure(() => verifyRequest(q(`AWSAccessKeyId=${AK}&Expires=1175139621&${sig}`), secretOf, now)).detail,
    ).toBe('SignatureDoesNotMatch');
    expect(
      failure(() => verifyRequest({ ...presigned, rawPath: '/photos/other.jpg' }, secretOf, now)).detail,
    ).toBe('SignatureDoesNotMatch');
    // An x-amz-* header the URL's holder adds is signed in V2, so it breaks the signature.
    const added = { ...presigned, headers: { ...presigned.headers, 'x-amz-meta-x': '1' } };
    expect(failure(() => verifyRequest(added, secretOf, now)).detail).toBe('SignatureDoesNotMatch');
    // A response override is a signed sub-resource: it cannot be added to a URL.
    expect(
      failure(() => verifyRequest(q(`${presigned.rawQuery}&response-content-type=text/html`), secretOf, now))
        .detail,
    ).toBe('SignatureDoesNotMatch');
    expect(
      failure(() => verifyRequest(q(`AWSAccessKeyId=NOBODY&Expires=1175139620&${sig}`), secretOf, now))
        .detail,
    ).toBe('InvalidAccessKeyId');
    const both = {
      ...presigned,
      headers: { ...presigned.headers, authorization: getObject.headers.authorization },
    };
    expect(failure(() => verifyRequest(both, secretOf, now)).detail).toBe('InvalidArgument');
    for (const partial of [
      `AWSAccessKeyId=${AK}&${sig}`,
      `Expires=1175139620&${sig}`,
      `AWSAccessKeyId=${AK}&Expires=1`,
    ]) {
      expect(failure(() => verifyRequest(q(partial), secretOf, now)).detail).toBe('AccessDenied');
    }
    expect(
      failure(() => verifyRequest(q(`AWSAccessKeyId=${AK}&Expires=soon&${sig}`), secretOf, now)).detail,
    ).toBe('AccessDenied');
    expect(
      failure(() =>
        verifyRequest(
          q(`AWSAccessKeyId=${AK}&AWSAccessKeyId=${AK}&Expires=1175139620&${sig}`),
          secretOf,
          now,
        ),
      ).detail,
    ).toBe('InvalidArgument');
  });
});
