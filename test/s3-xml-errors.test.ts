/** Pure tests of the S3 error table and the XML writer and parser. */
import { describe, expect, it } from 'vitest';
import { FdfsError, Status } from '../src/common/index.js';
import { errorXml, s3Error, s3FailureOf } from '../src/s3/errors.js';
import { childrenOf, childText, parseXml } from '../src/s3/xml-parse.js';
import { doc, el, escapeXml, root } from '../src/s3/xml-write.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as FdfsError).detail;
  }
  return undefined;
}

describe('s3 error table', () => {
  it.each([
    [new FdfsError(Status.ENOENT, 'no bucket named x', { detail: 'NoSuchBucket' }), 'NoSuchBucket', 404],
    [new FdfsError(Status.ENOENT, 'gone'), 'NoSuchKey', 404],
    [new FdfsError(Status.EPERM, 'sig', { detail: 'SignatureDoesNotMatch' }), 'SignatureDoesNotMatch', 403],
    [new FdfsError(Status.EACCES, 'who', { detail: 'InvalidAccessKeyId' }), 'InvalidAccessKeyId', 403],
    [new FdfsError(Status.EINVAL, 'md5', { detail: 'InvalidDigest' }), 'InvalidDigest', 400],
    [new FdfsError(Status.EACCES, 'x'), 'AccessDenied', 403],
    [new FdfsError(Status.EINVAL, 'x'), 'InvalidArgument', 400],
    [new FdfsError(Status.EFBIG, 'x'), 'EntityTooLarge', 400],
    [new FdfsError(Status.ENOSPC, 'x'), 'InternalError', 500],
    [new FdfsError(Status.EIO, 'x'), 'InternalError', 500],
    [new FdfsError(Status.ECONNREFUSED, 'x'), 'ServiceUnavailable', 503],
    [s3Error('InvalidRange', 'r'), 'InvalidRange', 416],
    [s3Error('PreconditionFailed', 'p'), 'PreconditionFailed', 412],
    [s3Error('BucketNotEmpty', 'b'), 'BucketNotEmpty', 409],
    [new Error('a bug'), 'InternalError', 500],
  ])('%s → %s %d', (err, code, status) => {
    const f = s3FailureOf(err);
    expect([f.code, f.status]).toEqual([code, status]);
  });

  it('keeps messages raised for the client and hides the rest', () => {
    expect(s3FailureOf(s3Error('NoSuchBucket', 'The specified bucket does not exist')).message).toBe(
      'The specified bucket does not exist',
    );
    const internal = new FdfsError(Status.ECONNREFUSED, 'connect ECONNREFUSED 10.1.2.3:23000', {
      peer: '10.1.2.3:23000',
    });
    expect(s3FailureOf(internal).message).not.toContain('10.1.2.3');
    expect(s3FailureOf(new Error('at /srv/secret/path')).message).not.toContain('/srv');
    // A detail that is no S3 code (raised by another s3 part for the client) keeps its words.
    const own = new FdfsError(Status.EINVAL, 'chunk size line too long', { detail: 'ChunkTooBig' });
    expect(s3FailureOf(own)).toEqual({
      code: 'InvalidArgument',
      status: 400,
      message: 'chunk size line too long',
    });
  });

  it('writes the Error document with escaped fields', () => {
    const text = errorXml(s3FailureOf(s3Error('NoSuchKey', 'no <key>')), '/b/a&b', 'ABC', { Key: 'a&b' });
    expect(text).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>no &lt;key&gt;</Message>' +
        '<Key>a&amp;b</Key><Resource>/b/a&amp;b</Resource><RequestId>ABC</RequestId></Error>',
    );
  });
});

describe('xml writer', () => {
  it('escapes text, leaves built elements alone, skips undefined', () => {
    expect(el('A', 'x<y', el('B', 1), undefined, true).text).toBe('<A>x&lt;y<B>1</B>true</A>');
    expect(escapeXml(`a&b"c'd>\r\u0001\tz`)).toBe('a&amp;b&quot;c&apos;d&gt;&#xD;&#x1;\tz');
    expect(doc(root('R', el('K', 'v')))).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><K>v</K></R>',
    );
  });

  it('round-trips awkward keys through the parser', () => {
    for (const key of [
      'a&b+c.txt',
      'é ü.txt',
      'sub dir/x y.png',
      `q"u'o<t>e`,
      '../x',
      'cr\rlf\n',
      '\u0001ctl',
    ]) {
      const parsed = parseXml(doc(root('Delete', el('Object', el('Key', key)))));
      expect(childText(childrenOf(parsed, 'Object')[0] as never, 'Key')).toBe(key);
    }
  });
});

describe('xml parser', () => {
  it('reads S3 request bodies with namespaces, comments, CDATA and references', () => {
    const body = Buffer.from(
      '\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part>' +
        '<Part><PartNumber>2</PartNumber><ETag><![CDATA["d<e"]]></ETag><x:Other a=\'1\'/></Part>' +
        '<Part><PartNumber>&#51;</PartNumber><ETag>&#x22;f&#x22;</ETag></Part></CompleteMultipartUpload>',
    );
    const r = parseXml(body);
    expect(r.name).toBe('CompleteMultipartUpload');
    const parts = childrenOf(r, 'Part').map((p) => [childText(p, 'PartNumber'), childText(p, 'ETag')]);
    expect(parts).toEqual([
      ['1', '"abc"'],
      ['2', '"d<e"'],
      ['3', '"f"'],
    ]);
  });

  it.each([
    ['DOCTYPE', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Delete>&e;</Delete>'],
    ['entity declaration', '<Delete><!ENTITY e "x"></Delete>'],
    ['unknown entity', '<Delete>&e;</Delete>'],
    ['unterminated entity', '<Delete>a & b</Delete>'],
    ['mismatched tags', '<Delete><Object></Delete></Object>'],
    ['unclosed', '<Delete><Object>'],
    ['two roots', '<A/><B/>'],
    ['text after root', '<A/>junk'],
    ['empty', ''],
    ['not xml', '{"Objects": []}'],
    ['processing instruction', '<A><?php x ?></A>'],
    ['bad attribute', '<A b=c></A>'],
    ['deep nesting', `${'<a>'.repeat(40)}${'</a>'.repeat(40)}`],
    ['bad reference', '<A>&#xD800;</A>'],
  ])('refuses %s as MalformedXML', (_name, text) => {
    expect(codeOf(() => parseXml(Buffer.from(text)))).toBe('MalformedXML');
  });

  it('refuses invalid UTF-8 and oversized bodies', () => {
    expect(codeOf(() => parseXml(Buffer.from([0x3c, 0x41, 0x3e, 0xff, 0x3c, 0x2f, 0x41, 0x3e])))).toBe(
      'MalformedXML',
    );
    expect(codeOf(() => parseXml(Buffer.alloc(3 * 1024 * 1024, 0x20)))).toBe('MaxMessageLengthExceeded');
  });

  it('refuses a repeated single-valued child', () => {
    const r = parseXml('<Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber></Part>');
    expect(codeOf(() => childText(r, 'PartNumber'))).toBe('MalformedXML');
  });
});
