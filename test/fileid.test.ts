import { describe, expect, it } from 'vitest';
import { Crc32, crc32, FdfsError } from '../src/common/index.js';
import {
  decodeBase64Part,
  decodeRemoteFilename,
  type EncodeNameInput,
  encodeBase64Part,
  encodeRemoteFilename,
  formatExt,
  formatFileId,
  isMetaSidecarName,
  parseFileId,
  pjwHash,
  randomSubdirs,
  regenerateName,
  relativeDataPath,
  type SourceId,
  sizeHintOf,
  slaveRemoteFilename,
  storePathIndexOf,
  validateRemoteFilename,
} from '../src/fileid/index.js';

const SEED1 = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
const SEED2 = 'M00/00/00/wKgACWHCyqeAR1X_AAAFTB0Vk_Y126.jpg';

/** A random source that yields the given decimal digits, in order. */
function digits(...ds: number[]): () => number {
  let i = 0;
  return () => ((ds[i++] ?? 0) + 0.5) / 10;
}

/** Deterministic PRNG (mulberry32) so the round-trip cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function expectEinval(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FdfsError);
  expect((caught as FdfsError).status).toBe(22);
  expect((caught as FdfsError).code).toBe('FDFS_ERR_EINVAL');
}

const seed1Fields: EncodeNameInput = {
  storePathIndex: 0,
  subdirHigh: 0,
  subdirLow: 0,
  source: { kind: 'ip', ip: '192.168.0.101' },
  timestamp: 1639989816,
  size: 82983,
  crc32: 0x42610609,
  ext: 'png',
  randomBits: 0x026e0f,
  random: digits(5, 6, 9),
};

describe('seed examples (§5.6)', () => {
  it('decodes the first seed name', () => {
    const d = decodeRemoteFilename(SEED1);
    expect(hex(decodeBase64Part(d.base64Part))).toBe('c0a8006561c0423880026e0f0001442742610609');
    expect(d).toMatchObject({
      storePathIndex: 0,
      subdirHigh: 0,
      subdirLow: 0,
      base64Part: 'wKgAZWHAQjiAAm4PAAFEJ0JhBgk',
      fileName: 'wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png',
      source: { kind: 'ip', ip: '192.168.0.101' },
      timestamp: 1639989816,
      size: 82983,
      crc32: 0x42610609,
      type: 'normal',
      ext: 'png',
    });
    expect(d.crc32).toBe(1113654793);
    expect(d.sizeWord >> 63n).toBe(1n);
    expect((d.sizeWord >> 32n) & 0x7fffffn).toBe(0x026e0fn);
    expect(new Date(d.timestamp * 1000).toISOString()).toBe('2021-12-20T08:43:36.000Z');
  });

  it('decodes the second seed name', () => {
    const d = decodeRemoteFilename(SEED2);
    expect(hex(decodeBase64Part(d.base64Part))).toBe('c0a8000961c2caa7804755ff0000054c1d1593f6');
    expect(d).toMatchObject({
      source: { kind: 'ip', ip: '192.168.0.9' },
      timestamp: 1640155815,
      size: 1356,
      crc32: 0x1d1593f6,
      type: 'normal',
      ext: 'jpg',
    });
    expect(d.crc32).toBe(487953398);
    expect(d.sizeWord >> 63n).toBe(1n);
    expect((d.sizeWord >> 32n) & 0x7fffffn).toBe(0x4755ffn);
  });

  it('re-encodes both seeds exactly', () => {
    expect(encodeRemoteFilename({ ...seed1Fields, random: digits(5, 6, 9) })).toBe(SEED1);
    expect(
      encodeRemoteFilename({
        storePathIndex: 0,
        subdirHigh: 0,
        subdirLow: 0,
        source: { kind: 'ip', ip: '192.168.0.9' },
        timestamp: 1640155815,
        size: 1356n,
        crc32: 0x1d1593f6,
        ext: 'jpg',
        randomBits: 0x4755ff,
        random: digits(1, 2, 6),
      }),
    ).toBe(SEED2);
  });

  it('re-encodes the further vectors', () => {
    const part = (over: Partial<EncodeNameInput>) =>
      decodeRemoteFilename(encodeRemoteFilename({ ...seed1Fields, random: digits(5, 6, 9), ...over }))
        .base64Part;
    expect(part({ source: { kind: 'id', id: 100001 } })).toBe('oYYBAGHAQjiAAm4PAAFEJ0JhBgk');
    expect(part({ kind: 'appender' })).toBe('wKgAZWHAQjiEAm4PAAAAAEJhBgk');
    expect(part({ kind: 'trunk' })).toBe('wKgAZWHAQjiIAm4PAAFEJ0JhBgk');
  });

  it('decodes the further vectors', () => {
    const name = (p: string) => `M00/00/00/${p}569.png`;
    expect(decodeRemoteFilename(name('oYYBAGHAQjiAAm4PAAFEJ0JhBgk')).source).toEqual({
      kind: 'id',
      id: 100001,
    });
    expect(decodeRemoteFilename(name('wKgAZWHAQjiEAm4PAAAAAEJhBgk'))).toMatchObject({
      type: 'appender',
      size: -1,
    });
    expect(decodeRemoteFilename(name('wKgAZWHAQjiIAm4PAAFEJ0JhBgk'))).toMatchObject({
      type: 'trunk',
      size: 82983,
    });
  });

  it('builds and reads a 60-char trunk name (§5.4)', () => {
    const trunk = { trunkFileId: 1, offset: 1024, allocSize: 83456 };
    const name = encodeRemoteFilename({ ...seed1Fields, random: digits(5, 6, 9), kind: 'trunk', trunk });
    expect(name).toBe('M00/00/00/wKgAZWHAQjiIAm4PAAFEJ0JhBgkAAAAAQAABAAAAUYA569.png');
    expect(decodeRemoteFilename(name)).toMatchObject({ type: 'trunk', size: 82983, trunk, ext: 'png' });
  });
});

describe('base64 part', () => {
  it('uses the URL-safe alphabet, unpadded', () => {
    const bytes = new Uint8Array(20).fill(0xff);
    expect(encodeBase64Part(bytes)).toBe(`${'_'.repeat(26)}8`);
    expect(encodeBase64Part(new Uint8Array(20).fill(0xfb))).toMatch(/^[-_A-Za-z0-9]{27}$/);
    expect(decodeBase64Part(`${'_'.repeat(26)}8`)).toEqual(bytes);
  });

  it('ignores the unused low bits of the last char', () => {
    expect(decodeBase64Part('_'.repeat(27))).toEqual(new Uint8Array(20).fill(0xff));
  });

  it('rejects wrong lengths and characters', () => {
    expectEinval(() => decodeBase64Part('abc'));
    expectEinval(() => decodeBase64Part(`${'A'.repeat(26)}+`));
    expectEinval(() => decodeBase64Part(`${'A'.repeat(26)}=`));
    expectEinval(() => encodeBase64Part(new Uint8Array(19)));
  });
});

describe('formatExt', () => {
  it('pads with random digits to 7 chars', () => {
    expect(formatExt('png', digits(5, 6, 9))).toBe('569.png');
    expect(formatExt('jpeg', digits(1, 2))).toBe('12.jpeg');
    expect(formatExt('tar.gz', digits())).toBe('.tar.gz');
    expect(formatExt('', digits(1, 2, 3, 4, 5, 6, 7))).toBe('1234567');
    expect(formatExt('a', () => 0.999999999)).toBe('99999.a');
  });

  it('rejects bad extensions', () => {
    for (const ext of ['toolong', 'a b', 'p/g', 'x%', '-m', 'ab-m']) expectEinval(() => formatExt(ext));
  });
});

describe('round trips', () => {
  const rand = prng(20240601);
  const int = (n: number) => Math.floor(rand() * n);
  const extChars = 'abcXYZ019_.-';
  const kinds = ['normal', 'appender', 'trunk'] as const;

  for (let i = 0; i < 300; i++) {
    const source: SourceId =
      rand() < 0.5
        ? { kind: 'id', id: 1 + int(0xffffff) }
        : { kind: 'ip', ip: `${int(256)}.${int(256)}.${int(256)}.${1 + int(255)}` };
    const kind = kinds[int(3)] ?? 'normal';
    let ext = '';
    for (let n = int(7); n > 0; n--) ext += extChars[int(extChars.length)];
    if (ext.endsWith('-m') || ext.startsWith('.')) ext = `x${ext.slice(1, -1)}z`.slice(0, 6);
    const input: EncodeNameInput = {
      storePathIndex: int(256),
      subdirHigh: int(256),
      subdirLow: int(256),
      source,
      timestamp: int(2 ** 32),
      size: kind === 'normal' && rand() < 0.2 ? BigInt(2 ** 32 + int(2 ** 40)) : int(2 ** 32),
      crc32: int(2 ** 32),
      ext,
      kind,
      random: rand,
    };
    it(`case ${i}: ${kind} ${source.kind}`, () => {
      const name = encodeRemoteFilename(input);
      expect(name).toHaveLength(44);
      const d = decodeRemoteFilename(name);
      expect(d.storePathIndex).toBe(input.storePathIndex);
      expect(d.subdirHigh).toBe(input.subdirHigh);
      expect(d.subdirLow).toBe(input.subdirLow);
      expect(d.source).toEqual(input.source);
      expect(d.timestamp).toBe(input.timestamp);
      expect(d.crc32).toBe(input.crc32);
      expect(d.type).toBe(kind);
      expect(d.ext).toBe(ext);
      expect(d.size).toBe(kind === 'appender' ? -1 : Number(input.size));
      expect(encodeBase64Part(decodeBase64Part(d.base64Part))).toBe(d.base64Part);
    });
  }
});

describe('sizes of 4 GiB and more', () => {
  it('stores the raw size with bit 63 clear', () => {
    for (const size of [2 ** 32, 5n * 2n ** 30n, 2n ** 50n + 7n]) {
      const d = decodeRemoteFilename(encodeRemoteFilename({ ...seed1Fields, size }));
      expect(d.sizeWord).toBe(BigInt(size));
      expect(d.size).toBe(Number(size));
      expect(d.type).toBe('normal');
    }
  });

  it('keeps sizes just below 4 GiB in the low word', () => {
    const d = decodeRemoteFilename(encodeRemoteFilename({ ...seed1Fields, size: 2 ** 32 - 1 }));
    expect(d.sizeWord >> 63n).toBe(1n);
    expect(d.size).toBe(2 ** 32 - 1);
  });

  it('rejects bad sizes and trunk files of 4 GiB', () => {
    expectEinval(() => encodeRemoteFilename({ ...seed1Fields, size: -1 }));
    expectEinval(() => encodeRemoteFilename({ ...seed1Fields, size: 1.5 }));
    expectEinval(() => encodeRemoteFilename({ ...seed1Fields, size: 2n ** 63n }));
    expectEinval(() => encodeRemoteFilename({ ...seed1Fields, kind: 'trunk', size: 2 ** 32 }));
  });
});

describe('sizeHintOf', () => {
  it('reads the size of plain names as the full decoder does, seeds and 4 GiB and more included', () => {
    expect(sizeHintOf(SEED1)).toBe(82983);
    expect(sizeHintOf(SEED2)).toBe(1356);
    for (const size of [0, 1, 4096, 262_145, 2 ** 32 - 1, 2 ** 32, 5 * 2 ** 30, 2 ** 50 + 8]) {
      const name = encodeRemoteFilename({ ...seed1Fields, size });
      expect(sizeHintOf(name), String(size)).toBe(size);
      expect(sizeHintOf(name)).toBe(decodeRemoteFilename(name).size);
    }
  });

  it('says nothing for appender, trunk, slave and short names', () => {
    expect(
      sizeHintOf(encodeRemoteFilename({ ...seed1Fields, size: 9000, kind: 'appender' })),
    ).toBeUndefined();
    const trunk = { trunkFileId: 1, offset: 0, allocSize: 4096 };
    expect(
      sizeHintOf(encodeRemoteFilename({ ...seed1Fields, size: 9000, kind: 'trunk', trunk })),
    ).toBeUndefined();
    expect(sizeHintOf(slaveRemoteFilename(SEED1, '_150x150', 'png'))).toBeUndefined();
    expect(sizeHintOf('M00/00/00/short.png')).toBeUndefined();
  });
});

describe('encode input checks', () => {
  it('rejects out-of-range fields', () => {
    const bad: Partial<EncodeNameInput>[] = [
      { storePathIndex: 256 },
      { subdirHigh: -1 },
      { subdirLow: 1.5 },
      { source: { kind: 'ip', ip: '256.1.1.1' } },
      { source: { kind: 'ip', ip: '1.2.3' } },
      { source: { kind: 'id', id: 0 } },
      { source: { kind: 'id', id: 0x1000000 } },
      { timestamp: 2 ** 32 },
      { crc32: -1 },
      { randomBits: 0x800000 },
      { ext: 'a-m' },
      { trunk: { trunkFileId: 1, offset: 0, allocSize: 1 } },
    ];
    for (const over of bad) expectEinval(() => encodeRemoteFilename({ ...seed1Fields, ...over }));
  });

  it('each name carries its own source address, whatever the name before it carried', () => {
    const ips = ['10.1.2.3', '10.1.2.3', '192.168.7.9', '10.1.2.3', '172.16.0.1'];
    for (const ip of ips) {
      const name = encodeRemoteFilename({ ...seed1Fields, source: { kind: 'ip', ip } });
      expect(decodeRemoteFilename(name).source).toEqual({ kind: 'ip', ip });
      expectEinval(() => encodeRemoteFilename({ ...seed1Fields, source: { kind: 'ip', ip: `${ip}.4` } }));
    }
  });

  it('reads an IP ending in .0 back as a server id, as FastDFS does', () => {
    const name = encodeRemoteFilename({ ...seed1Fields, source: { kind: 'ip', ip: '10.0.1.0' } });
    expect(decodeRemoteFilename(name).source).toEqual({ kind: 'id', id: 0x1000a });
  });
});

describe('slave names (§4.2)', () => {
  it('follows the documented example', () => {
    expect(slaveRemoteFilename(SEED1, '_150x150', 'png')).toBe(
      'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569_150x150.png',
    );
  });

  it('handles missing exts on either side', () => {
    expect(slaveRemoteFilename(SEED1, '_s', '')).toBe('M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569_s');
    expect(slaveRemoteFilename(SEED1, '_s', '.jpg')).toBe('M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569_s.jpg');
    const noExt = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk1234567';
    expect(slaveRemoteFilename(noExt, '_s', 'png')).toBe(`${noExt}_s.png`);
    const tgz = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk.tar.gz';
    expect(slaveRemoteFilename(tgz, '-big', 'tar.gz')).toBe(
      'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk-big.tar.gz',
    );
  });

  it('decodes as a slave carrying the master fields', () => {
    const d = decodeRemoteFilename(slaveRemoteFilename(SEED1, '_150x150', 'png'));
    expect(d).toMatchObject({ type: 'slave', size: -1, crc32: 0x42610609, ext: 'png' });
  });

  it('applies the rejections', () => {
    expectEinval(() => slaveRemoteFilename('M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0J.png', '_s', 'png'));
    expectEinval(() => slaveRemoteFilename(SEED1, '', 'png'));
    expectEinval(() => slaveRemoteFilename(SEED1, '-m', ''));
    expectEinval(() => slaveRemoteFilename(SEED1, 'x-m', ''));
    expectEinval(() => slaveRemoteFilename(SEED1, 'a/b', 'png'));
    expectEinval(() => slaveRemoteFilename(SEED1, 'a'.repeat(17), 'png'));
    expectEinval(() => slaveRemoteFilename(SEED1, '_s', 'toolong'));
    expectEinval(() => slaveRemoteFilename('M00/00/00/../../etc/passwd/aaaaaaaaaaaaaaaaaaaa', '_s', 'png'));
  });
});

describe('regenerateName (§4.7)', () => {
  it('turns an appender name into a normal one with the same dirs, source and suffix', () => {
    const appender = encodeRemoteFilename({
      ...seed1Fields,
      storePathIndex: 2,
      subdirHigh: 0x1a,
      subdirLow: 0xff,
      source: { kind: 'id', id: 100001 },
      kind: 'appender',
      random: digits(5, 6, 9),
    });
    expect(appender.startsWith('M02/1A/FF/')).toBe(true);
    const regen = regenerateName(appender, {
      timestamp: 1700000000,
      size: 12345,
      crc32: 0xdeadbeef,
      randomBits: 7,
    });
    expect(regen.slice(0, 10)).toBe('M02/1A/FF/');
    expect(regen.slice(-7)).toBe('569.png');
    expect(decodeRemoteFilename(regen)).toMatchObject({
      type: 'normal',
      source: { kind: 'id', id: 100001 },
      timestamp: 1700000000,
      size: 12345,
      sizeWord: (0x80000007n << 32n) | 12345n,
      crc32: 0xdeadbeef,
    });
  });

  it('refuses names that are not appenders', () => {
    expectEinval(() => regenerateName(SEED1, { timestamp: 1, size: 1, crc32: 1 }));
    expectEinval(() =>
      regenerateName('M00/00/00/../../../etc/passwd/aaaaaaaaaaaaaaaa', { timestamp: 1, size: 1, crc32: 1 }),
    );
  });
});

describe('validateRemoteFilename', () => {
  const good = [SEED1, SEED2, 'M0A/FF/10/abcdefghijkl', `M00/00/00/${'a'.repeat(117)}`];
  it.each(good)('accepts %s', (name) => {
    expect(() => validateRemoteFilename(name)).not.toThrow();
  });

  const bad: [string, unknown][] = [
    ['parent dir', '../../../../../../etc/passwd'],
    ['encoded parent', 'M00/00/00/%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
    ['traversal after prefix', 'M00/00/00/../../etc/passwd'],
    ['traversal in dirs', 'M00/../00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png'],
    ['absolute', `/${SEED1}`],
    ['absolute system path', '/etc/passwd/aaaaaaaaaaaaaaaaaaaaa'],
    ['too short', 'M00/00/00/abcdefghijk'],
    ['too long', `M00/00/00/${'a'.repeat(118)}`],
    ['lower-case hex dir', 'M00/0a/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png'],
    ['lower-case store path', 'M0f/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png'],
    ['lower-case m', `m${SEED1.slice(1)}`],
    ['non-hex dir', 'M00/0G/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png'],
    ['three-digit dir', 'M00/000/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png'],
    ['extra dir level', 'M00/00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png'],
    ['backslash', 'M00\\00\\00\\wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png'],
    ['backslash in name', 'M00/00/00/..\\..\\wKgAZWHAQjiAAm4PAAFEJ0JhBgk'],
    ['NUL', `${SEED1}\0.txt`],
    ['percent', 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk%69.png'],
    ['space', 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk 69.png'],
    ['plus', 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk+69.png'],
    ['newline', `${SEED1}\n`],
    ['non-ASCII', 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.pn\u0261'],
    ['leading dot', 'M00/00/00/.wKgAZWHAQjiAAm4PAAFEJ0JhBgk569'],
    ['metadata sidecar', `${SEED1}-m`],
    ['trailing slash', `${SEED1}/`],
    ['empty', ''],
    ['not a string', undefined],
  ];
  it.each(bad)('rejects %s', (_label, name) => {
    expectEinval(() => validateRemoteFilename(name as string));
  });

  it('names the bad id in the error', () => {
    expect(() => validateRemoteFilename('M00/00/00/../../etc/passwd')).toThrow(/etc\/passwd/);
  });

  it('spots sidecar names', () => {
    expect(isMetaSidecarName('abc.png-m')).toBe(true);
    expect(isMetaSidecarName('abc.png')).toBe(false);
  });

  it('decode needs the full 44 chars', () => {
    expectEinval(() => decodeRemoteFilename('M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569'));
    expectEinval(() => decodeRemoteFilename('M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0J.hBgk569.png'));
  });
});

describe('file ids', () => {
  it('parses and formats', () => {
    expect(parseFileId(`group1/${SEED1}`)).toEqual({ group: 'group1', remoteFilename: SEED1 });
    expect(formatFileId('G2', SEED2)).toBe(`G2/${SEED2}`);
    expect(parseFileId(`${'a'.repeat(16)}/${SEED1}`).group).toHaveLength(16);
  });

  it.each([
    ['no group', `/${SEED1}`],
    ['no remote', 'group1'],
    ['bad group char', `group_1/${SEED1}`],
    ['group too long', `${'a'.repeat(17)}/${SEED1}`],
    ['absolute remote', `group1//${SEED1}`],
    ['traversal', 'group1/M00/00/00/../../../../etc/passwd'],
    ['encoded traversal', 'group1/M00/00/00/%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
  ])('rejects %s', (_label, id) => {
    expectEinval(() => parseFileId(id));
  });

  it('rejects a bad group when formatting', () => {
    expectEinval(() => formatFileId('group 1', SEED1));
    expectEinval(() => formatFileId('', SEED1));
  });
});

describe('paths', () => {
  it('maps a remote name to its data path and store path', () => {
    expect(relativeDataPath('M03/0A/FF/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png')).toBe(
      'data/0A/FF/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png',
    );
    expect(storePathIndexOf('M1F/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png')).toBe(31);
    expectEinval(() => relativeDataPath('M00/00/00/../../../etc/passwd'));
  });
});

describe('random subdirs (§5.3 mode 1)', () => {
  // Reference written from the C semantics with explicit 32-bit two's complement arithmetic.
  function referencePjw(s: string): number {
    let h = 0n;
    const wrap = (x: bigint) => BigInt.asIntN(32, x);
    for (const c of Buffer.from(s)) {
      h = wrap((h << 4n) + BigInt(c));
      const test = wrap(h & wrap(0xf0000000n));
      if (test !== 0n) h = wrap((h ^ (test >> 24n)) & 0x0fffffffn);
    }
    return Number(h);
  }

  it('matches a C-semantics reference', () => {
    const rand = prng(7);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 200; i++) {
      let s = '';
      for (let j = 0; j < 27; j++) s += alphabet[Math.floor(rand() * 64)];
      expect(pjwHash(s)).toBe(referencePjw(s));
    }
    expect(pjwHash('')).toBe(0);
    expect(pjwHash('A')).toBe(65);
  });

  it('derives dirs within the subdir count', () => {
    const part = 'wKgAZWHAQjiAAm4PAAFEJ0JhBgk';
    const n = pjwHash(part) % 65536;
    expect(randomSubdirs(part, 256)).toEqual({ high: (n >> 8) & 0xff, low: n & 0xff });
    const small = randomSubdirs(part, 3);
    expect(small.high).toBeLessThan(3);
    expect(small.low).toBeLessThan(3);
    expectEinval(() => randomSubdirs(part, 0));
  });
});

describe('crc32', () => {
  it('is the standard CRC-32 and can run incrementally', () => {
    const data = Buffer.from('123456789');
    expect(crc32(data)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(new Crc32().update(data.subarray(0, 4)).update(data.subarray(4)).value).toBe(0xcbf43926);
    expect(crc32(Buffer.from('hello world'))).toBe(0x0d4a1185);
  });
});
