/** Pure parts of the S3 front end: addressing, bucket names, byte ranges, multipart ETags, list tokens. */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FdfsError } from '../src/common/index.js';
import { newRequestId } from '../src/s3/errors.js';
import { parseRange } from '../src/s3/headers.js';
import { tokenOf } from '../src/s3/list-ops.js';
import { multipartEtag } from '../src/s3/multipart-complete.js';
import { assertKey, bucketNameProblem } from '../src/s3/names.js';
import { hmac, sameSignature, signatureHex, tryDecode, uriEncode } from '../src/s3/sigv4-crypto.js';
import { SmallFiles } from '../src/s3/small-files.js';
import { bucketOfHost, parseTarget } from '../src/s3/target.js';

const detailOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as FdfsError).detail;
  }
  return undefined;
};

describe('addressing', () => {
  it('path style: bucket, then the rest of the decoded path as the key, kept opaque', () => {
    const t = parseTarget('/photos/sub%20dir/a%26b%2Bc.txt?list-type=2&prefix=a%2Bb', '127.0.0.1:9000', [
      'localhost',
    ]);
    expect([t.bucket, t.key, t.rawPath]).toEqual([
      'photos',
      'sub dir/a&b+c.txt',
      '/photos/sub%20dir/a%26b%2Bc.txt',
    ]);
    expect(t.query.get('prefix')).toBe('a+b');
    expect(parseTarget('/photos/../x', undefined, []).key).toBe('../x');
    expect(parseTarget('/photos//a', undefined, []).key).toBe('/a');
    expect(parseTarget('/photos/', undefined, []).key).toBeUndefined();
    expect(parseTarget('/', undefined, []).bucket).toBeUndefined();
    expect(detailOf(() => parseTarget('/b/%E0%A4%A', undefined, []))).toBe('InvalidArgument');
  });

  it('virtual-host style only under a configured domain (or localhost)', () => {
    expect(bucketOfHost('photos.localhost:9000', ['localhost'])).toBe('photos');
    expect(bucketOfHost('a.b.s3.example.com', ['localhost', 's3.example.com'])).toBe('a.b');
    expect(bucketOfHost('s3.example.com', ['s3.example.com'])).toBeUndefined();
    expect(bucketOfHost('127.0.0.1:9000', ['localhost'])).toBeUndefined();
    const t = parseTarget('/key/with/slashes', 'photos.localhost:9000', ['localhost']);
    expect([t.bucket, t.key, t.resource]).toEqual(['photos', 'key/with/slashes', '/photos/key/with/slashes']);
  });

  it('an absolute-form target (sent through a proxy) is read as its path, its host the Host header', () => {
    const host = 'photos.localhost:9000';
    const t = parseTarget('http://photos.localhost:9000/a%20b?acl', host, ['localhost']);
    expect([t.bucket, t.key, t.rawPath, t.rawQuery, t.hostBucket]).toEqual([
      'photos',
      'a b',
      '/a%20b',
      'acl',
      'photos',
    ]);
    expect(parseTarget('HTTP://Photos.localhost:9000?uploads', host, ['localhost']).rawPath).toBe('/');
    const path = parseTarget('http://127.0.0.1:9000/b/k', '127.0.0.1:9000', ['localhost']);
    expect([path.bucket, path.key, path.hostBucket]).toEqual(['b', 'k', undefined]);
    // The signature covers Host, not the request line: another authority must not pick the bucket.
    expect(detailOf(() => parseTarget('http://other.localhost:9000/k', host, ['localhost']))).toBe(
      'InvalidArgument',
    );
    expect(detailOf(() => parseTarget('http://photos.localhost:9000/k', undefined, ['localhost']))).toBe(
      'InvalidArgument',
    );
  });
});

describe('names', () => {
  it.each([
    ['abc', undefined],
    ['my.bucket-1', undefined],
    ['ab', 'must be 3 to 63 characters long'],
    ['Abc', expect.stringContaining('lower-case')],
    ['abc-', expect.stringContaining('lower-case')],
    ['a..b', 'must not contain two adjacent dots'],
    ['10.0.0.1', 'must not look like an IP address'],
    ['xn--abc', 'uses a prefix or suffix S3 reserves'],
  ])('%s', (name, problem) => {
    expect(bucketNameProblem(name)).toEqual(problem);
  });

  it('keys are 1..1024 bytes of UTF-8', () => {
    expect(detailOf(() => assertKey('é'.repeat(512)))).toBeUndefined();
    expect(detailOf(() => assertKey(`${'é'.repeat(512)}x`))).toBe('KeyTooLongError');
    expect(detailOf(() => assertKey(''))).toBe('InvalidArgument');
  });
});

describe('ranges', () => {
  it.each([
    ['bytes=0-0', 10, { start: 0, end: 0 }],
    ['bytes=2-5', 10, { start: 2, end: 5 }],
    ['bytes=5-100', 10, { start: 5, end: 9 }],
    ['bytes=7-', 10, { start: 7, end: 9 }],
    ['bytes=-3', 10, { start: 7, end: 9 }],
    ['bytes=-30', 10, { start: 0, end: 9 }],
    ['bytes=5-2', 10, undefined],
    ['bytes=0-1,3-4', 10, undefined],
    ['items=0-1', 10, undefined],
    ['bytes=-', 10, undefined],
  ])('%s of %d', (h, size, want) => {
    expect(parseRange(h, size)).toEqual(want);
  });

  it('past the end (or of an empty object) is InvalidRange', () => {
    expect(detailOf(() => parseRange('bytes=10-', 10))).toBe('InvalidRange');
    expect(detailOf(() => parseRange('bytes=-0', 10))).toBe('InvalidRange');
    expect(detailOf(() => parseRange('bytes=0-', 0))).toBe('InvalidRange');
  });
});

describe('multipart ETag and list tokens', () => {
  it('is the MD5 of the binary part MD5s, then -N (as S3 computes it)', () => {
    // Two parts: md5("a") and md5("b"); the value computed apart with Python's hashlib.
    const a = '0cc175b9c0f1b6a831c399e269772661';
    const b = '92eb5ffee6ae2fec3ad71c777531578f';
    expect(multipartEtag([a, b])).toBe('96e024ba2074fe77e8e965ba43a704be-2');
  });

  it('continuation tokens are opaque and URL-safe', () => {
    expect(tokenOf('a/é ü+&.txt')).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('SigV4 URI encoding', () => {
  /** RFC 3986 byte by byte, as SigV4 asks: an independent reading of what uriEncode must answer. */
  const reference = (text: string) =>
    [...Buffer.from(text, 'utf8')]
      .map((b) =>
        /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
          ? String.fromCharCode(b)
          : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
      )
      .join('');

  it.each([
    ['', ''],
    ['plain-name_1.2~', 'plain-name_1.2~'],
    ["a!'()*b", 'a%21%27%28%29%2Ab'],
    ['é ü/+&=', '%C3%A9%20%C3%BC%2F%2B%26%3D'],
    ['😀', '%F0%9F%98%80'],
    ['a%2Fb', 'a%252Fb'],
    ['x\uD800y', 'x%EF%BF%BDy'],
  ])('%j → %s', (text, encoded) => {
    expect(uriEncode(text)).toBe(encoded);
    expect(uriEncode(text)).toBe(reference(text));
  });

  it('tryDecode: text without escapes as it is, malformed escapes undefined', () => {
    expect(tryDecode('a+b c')).toBe('a+b c');
    expect(tryDecode('a%2Fb')).toBe('a/b');
    expect(tryDecode('a%zz')).toBeUndefined();
  });
});

describe('small-file cache', () => {
  it('evicts the least recently used, a hit on the newest entry keeping the order', () => {
    const cache = new SmallFiles(10, 20);
    const bytes = (c: string) => Buffer.alloc(10, c);
    cache.set('a', bytes('a'));
    cache.set('b', bytes('b'));
    expect(cache.get('a')).toEqual(bytes('a')); // order now b, a
    cache.set('c', bytes('c')); // over 20 bytes: b goes; c is the newest now
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(bytes('a')); // c, a
    cache.set('d', bytes('d')); // c goes
    expect([cache.get('c'), cache.get('a'), cache.get('d')]).toEqual([undefined, bytes('a'), bytes('d')]);
    expect(cache.get('d')).toEqual(bytes('d')); // already the newest: a, d
    cache.set('e', bytes('e')); // a goes
    expect([cache.get('a'), cache.get('d'), cache.get('e')]).toEqual([undefined, bytes('d'), bytes('e')]);
    cache.set('big', Buffer.alloc(11)); // past maxFileSize: not kept
    expect(cache.get('big')).toBeUndefined();
  });
});

describe('request ids', () => {
  it('are 16 upper-case hex digits, each one more than the last (mod 2^64)', () => {
    const ids = Array.from({ length: 1000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(/^[0-9A-F]{16}$/);
    for (let i = 1; i < ids.length; i++) {
      const step = (BigInt(`0x${ids[i]}`) - BigInt(`0x${ids[i - 1]}`)) & ((1n << 64n) - 1n);
      expect(step).toBe(1n);
    }
  });
});

describe('signature HMAC', () => {
  it('sameSignature holds only for equal text', () => {
    const sig = randomBytes(32).toString('hex');
    expect(sameSignature(sig, `${sig}`)).toBe(true);
    expect(sameSignature('', '')).toBe(true);
    for (let i = 0; i < sig.length; i++) {
      const other = `${sig.slice(0, i)}${sig[i] === '0' ? '1' : '0'}${sig.slice(i + 1)}`;
      expect(sameSignature(sig, other), `differs at ${i}`).toBe(false);
    }
    expect(sameSignature(sig, sig.slice(0, 63))).toBe(false);
    expect(sameSignature(sig, `${sig}0`)).toBe(false);
    // Units past latin1 differ too (a latin1 Buffer would keep only their low byte).
    expect(sameSignature('aĀ', 'a\u0000')).toBe(false);
    expect(sameSignature('+/Ab=', '+/Ab=')).toBe(true);
  });

  it('signatureHex is HMAC-SHA256 as node:crypto computes it, for any key and text', () => {
    const texts = [
      '',
      'a',
      'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\nabc',
      'é ü ✓',
    ];
    for (let i = 0; i < 300; i++) texts.push(randomBytes(i).toString('base64'));
    // Past the reused 1 KiB block, then shorter ones after it: no stale byte may count.
    texts.push('x'.repeat(5000), 'y'.repeat(1024 - 64), 'y'.repeat(1024 - 63), 'z'.repeat(3));
    for (const text of texts) {
      for (const key of [randomBytes(32), randomBytes(32), randomBytes(20), randomBytes(64)]) {
        const want = createHmac('sha256', key).update(text, 'utf8').digest('hex');
        expect(signatureHex(key, text)).toBe(want);
        // The same key again: its pads come from the cache.
        expect(signatureHex(key, text)).toBe(hmac(key, text).toString('hex'));
      }
    }
  });
});
