/**
 * Checksums: CRC-32C and CRC-64/NVME against their published check values and a bitwise
 * reference written from the definitions; bodyVerifier's Content-MD5, signed sha256 and
 * x-amz-checksum-* decisions; access-key credential parsing.
 */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { FdfsError } from '../src/common/index.js';
import { type CHECKSUM_ALGORITHMS, createChecksum } from '../src/s3/checksum.js';
import { Crc64Nvme, crc32c } from '../src/s3/checksum-crc.js';
import { bodyVerifier } from '../src/s3/checksum-verifier.js';
import { credentialLookup, generateCredential, parseCredential } from '../src/s3/credentials.js';
import type { PayloadMode } from '../src/s3/sigv4-types.js';

const CHECK = Buffer.from('123456789');

function refCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function refCrc64Nvme(data: Uint8Array): bigint {
  const poly = 0x9a6c9329ac4bc9b5n;
  let crc = 0xffffffffffffffffn;
  for (const b of data) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('CRC-32C', () => {
  it('matches the catalogue check value and the RFC 3720 (iSCSI) vectors', () => {
    expect(crc32c(CHECK)).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe(0x113fdb5c);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('equals the bitwise definition at every length and split', () => {
    for (let n = 0; n < 70; n++) {
      const d = pattern(n, n + 1);
      expect(crc32c(d)).toBe(refCrc32c(d));
      const cut = Math.floor(n / 3);
      expect(crc32c(d.subarray(cut), crc32c(d.subarray(0, cut)))).toBe(refCrc32c(d));
    }
  });
});

describe('CRC-64/NVME', () => {
  it('matches the catalogue check value', () => {
    expect(new Crc64Nvme().update(CHECK).digest().toString('hex')).toBe('ae8b14860a799888');
    expect(refCrc64Nvme(CHECK)).toBe(0xae8b14860a799888n);
  });

  it('equals the bitwise definition at every length and split', () => {
    for (let n = 0; n < 70; n++) {
      const d = pattern(n, 7 * n + 3);
      const want = refCrc64Nvme(d).toString(16).padStart(16, '0');
      expect(new Crc64Nvme().update(d).digest().toString('hex')).toBe(want);
      const cut = Math.floor(n / 2) + 1;
      expect(
        new Crc64Nvme().update(d.subarray(0, cut)).update(d.subarray(cut)).digest().toString('hex'),
      ).toBe(want);
    }
  });
});

describe('x-amz-checksum values', () => {
  it('are base64 of the big-endian digest', () => {
    const b64 = (alg: (typeof CHECKSUM_ALGORITHMS)[number]) => {
      const c = createChecksum(alg);
      c.update(CHECK);
      return c.digestBase64();
    };
    expect(b64('CRC32')).toBe(Buffer.from('cbf43926', 'hex').toString('base64'));
    expect(b64('CRC32C')).toBe(Buffer.from('e3069283', 'hex').toString('base64'));
    expect(b64('CRC64NVME')).toBe(Buffer.from('ae8b14860a799888', 'hex').toString('base64'));
    expect(b64('SHA1')).toBe(createHash('sha1').update(CHECK).digest('base64'));
    expect(b64('SHA256')).toBe(createHash('sha256').update(CHECK).digest('base64'));
  });
});

async function verify(
  body: Buffer,
  headers: Record<string, string>,
  payload: PayloadMode = { kind: 'unsigned' },
) {
  const v = bodyVerifier({ headers, payload });
  let ended = false;
  const out: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      out.push(c);
      cb();
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  const pieces = [body.subarray(0, 5), body.subarray(5)];
  try {
    await pipeline(Readable.from(pieces), v, sink);
    return { v, err: undefined, ended, out: Buffer.concat(out) };
  } catch (err) {
    return { v, err: err as FdfsError, ended, out: Buffer.concat(out) };
  }
}

describe('bodyVerifier', () => {
  const body = Buffer.from('Welcome to Amazon S3.');
  const md5 = createHash('md5').update(body).digest();
  const sha = createHash('sha256').update(body).digest('hex');
  const crc = createChecksum('CRC32');
  crc.update(body);
  const crcB64 = crc.digestBase64();

  it('passes the body through and computes the MD5 ETag', async () => {
    const r = await verify(body, { 'content-md5': md5.toString('base64') }, { kind: 'sha256', sha256: sha });
    expect(r.err).toBeUndefined();
    expect(r.out.equals(body)).toBe(true);
    expect(r.v.md5Hex).toBe(md5.toString('hex'));
    expect(r.v.bytes).toBe(body.length);
  });

  it('a mismatch errors the stream before the consumer sees its end', async () => {
    const other = Buffer.from(md5).fill(1).toString('base64');
    const cases: [Record<string, string>, PayloadMode, string, string | RegExp][] = [
      [{ 'content-md5': other }, { kind: 'unsigned' }, 'BadDigest', /Content-MD5/],
      [{}, { kind: 'sha256', sha256: 'a'.repeat(64) }, 'XAmzContentSHA256Mismatch', /x-amz-content-sha256/],
      [
        { 'x-amz-checksum-crc32': 'AAAAAA==' },
        { kind: 'unsigned' },
        'BadDigest',
        'The CRC32 you specified did not match the calculated checksum.',
      ],
    ];
    for (const [headers, payload, code, message] of cases) {
      const r = await verify(body, headers, payload);
      expect(r.err?.detail).toBe(code);
      expect(r.err?.message).toMatch(message);
      expect(r.ended).toBe(false);
    }
  });

  it('a matching x-amz-checksum header is kept; x-amz-sdk-checksum-algorithm alone asks for one', async () => {
    const r = await verify(body, { 'x-amz-checksum-crc32': crcB64, 'x-amz-sdk-checksum-algorithm': 'CRC32' });
    expect(r.err).toBeUndefined();
    expect(r.v.checksum).toEqual({ algorithm: 'CRC32', value: crcB64 });
    const r2 = await verify(body, { 'x-amz-sdk-checksum-algorithm': 'crc64nvme' });
    expect(r2.v.checksum?.algorithm).toBe('CRC64NVME');
  });

  it('malformed headers are refused before reading: InvalidDigest, InvalidRequest', () => {
    const code = (headers: Record<string, string>) => {
      try {
        bodyVerifier({ headers, payload: { kind: 'unsigned' } });
        return 'none';
      } catch (err) {
        return (err as FdfsError).detail;
      }
    };
    expect(code({ 'content-md5': 'not base64!' })).toBe('InvalidDigest');
    expect(code({ 'content-md5': Buffer.alloc(15).toString('base64') })).toBe('InvalidDigest');
    expect(code({ 'x-amz-checksum-crc32': 'AAAA' })).toBe('InvalidRequest');
    expect(
      code({ 'x-amz-checksum-crc32': crcB64, 'x-amz-checksum-sha1': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }),
    ).toBe('InvalidRequest');
    expect(code({ 'x-amz-checksum-crc32': crcB64, 'x-amz-sdk-checksum-algorithm': 'SHA1' })).toBe(
      'InvalidRequest',
    );
    expect(code({ 'x-amz-sdk-checksum-algorithm': 'MD7' })).toBe('InvalidRequest');
    expect(code({ 'x-amz-trailer': 'x-amz-meta-foo' })).toBe('InvalidRequest');
    expect(code({ 'content-md5': md5.toString('base64') })).toBe('none');
  });
});

describe('credentials', () => {
  it('parses ACCESS:SECRET, the secret may hold colons', () => {
    expect(parseCredential('AKIDEXAMPLE:wJalr:XUtn/FEMI+K7MDENG')).toEqual({
      accessKey: 'AKIDEXAMPLE',
      secretKey: 'wJalr:XUtn/FEMI+K7MDENG',
    });
  });

  it('refuses bad keys without echoing the secret', () => {
    for (const bad of [
      'nocolon',
      'AK/ID:secret123',
      'A K:secret123',
      'ab:secret123',
      ':secret123',
      'AKID:short',
      'AKID:with space1',
      'AKID:tab\tsecret',
    ]) {
      let msg = '';
      try {
        parseCredential(bad);
      } catch (err) {
        expect(err).toBeInstanceOf(FdfsError);
        msg = (err as Error).message;
      }
      expect(msg, bad).not.toBe('');
      expect(msg).not.toContain('secret123');
    }
  });

  it('a lookup over the pairs; a repeated access key is refused; generated pairs parse', () => {
    const g = generateCredential();
    expect(parseCredential(`${g.accessKey}:${g.secretKey}`)).toEqual(g);
    expect(g.accessKey).toMatch(/^[A-Z2-7]{20}$/);
    const lookup = credentialLookup([g, parseCredential('OTHERKEY:othersecret')]);
    expect(lookup(g.accessKey)).toBe(g.secretKey);
    expect(lookup('nobody')).toBeUndefined();
    expect(() => credentialLookup([g, g])).toThrow(FdfsError);
  });
});
