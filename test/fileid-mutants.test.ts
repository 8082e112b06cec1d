/**
 * Edge cases found by `npm run mutate` over src/fileid: boundaries, the anchors of each pattern,
 * what an error names (message and file id) and the random sources. Each case failed against a
 * surviving mutant before it was written.
 */
import { describe, expect, it } from 'vitest';
import { FdfsError } from '../src/common/index.js';
import { decodeTrunkPart, encodeTrunkPart } from '../src/fileid/base64.js';
import {
  decodeBase64Part,
  decodeRemoteFilename,
  decodeSource,
  type EncodeNameInput,
  encodeBase64Part,
  encodeRemoteFilename,
  isValidGroupName,
  parseFileId,
  randomSubdirs,
  regenerateName,
  slaveRemoteFilename,
  validateExt,
  validateGroupName,
  validateRemoteFilename,
} from '../src/fileid/index.js';

const SEED1 = 'M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
const B64 = 'wKgAZWHAQjiAAm4PAAFEJ0JhBgk';
const TRUNK = 'M00/00/00/wKgAZWHAQjiIAm4PAAFEJ0JhBgkAAAAAQAABAAAAUYA569.png';

const base: EncodeNameInput = {
  storePathIndex: 0,
  subdirHigh: 0,
  subdirLow: 0,
  source: { kind: 'ip', ip: '192.168.0.101' },
  timestamp: 1639989816,
  size: 82983,
  crc32: 0x42610609,
  ext: 'png',
  randomBits: 0x026e0f,
  random: () => 0.55,
};

/** The EINVAL FdfsError `fn` throws (fails the test if it returns or throws anything else). */
function einval(fn: () => unknown): FdfsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FdfsError);
  expect((caught as FdfsError).status).toBe(22);
  return caught as FdfsError;
}

/** `name` with the char at `i` replaced. */
function withCharAt(name: string, i: number, c: string): string {
  return `${name.slice(0, i)}${c}${name.slice(i + 1)}`;
}

describe('base64 parts', () => {
  it.each([
    ['a bad first char', `+${'A'.repeat(26)}`],
    ['a bad last char', `${'A'.repeat(26)}+`],
    ['a String object', new String('A'.repeat(27))],
  ])('refuse %s', (_label, text) => {
    expect(einval(() => decodeBase64Part(text as string)).message).toMatch(/need 27 chars of/);
  });

  it.each([26, 28])('name the expected length for %i chars', (n) => {
    expect(einval(() => decodeBase64Part('A'.repeat(n))).message).toBe(
      `invalid base64 part "${'A'.repeat(n)}": need 27 chars of [A-Za-z0-9_-]`,
    );
  });

  it('say how many bytes they were given', () => {
    expect(einval(() => encodeBase64Part(new Uint8Array(19))).message).toBe(
      'base64 part needs 20 bytes, got 19',
    );
    expect(einval(() => encodeTrunkPart(new Uint8Array(11))).message).toBe(
      'trunk part needs 12 bytes, got 11',
    );
    expect(einval(() => decodeTrunkPart('A'.repeat(15))).message).toMatch(/need 16 chars/);
    expect(decodeTrunkPart(encodeTrunkPart(new Uint8Array(12).fill(7)))).toEqual(new Uint8Array(12).fill(7));
  });
});

describe('decodeSource', () => {
  it.each([
    [[0, 0, 0, 0], { kind: 'ip', ip: '0.0.0.0' }],
    [[1, 0, 0, 0], { kind: 'id', id: 1 }],
    [[255, 255, 255, 0], { kind: 'id', id: 0xffffff }],
    [[0, 0, 0, 1], { kind: 'ip', ip: '0.0.0.1' }],
    [[192, 168, 0, 101], { kind: 'ip', ip: '192.168.0.101' }],
  ])('reads %j as %j', (bytes, want) => {
    expect(decodeSource(Uint8Array.from(bytes))).toEqual(want);
  });
});

describe('decodeRemoteFilename edges', () => {
  it('reads a slave of a trunk file as a slave', () => {
    const slave = slaveRemoteFilename(TRUNK, '_s', 'png');
    expect(slave.length).toBeGreaterThan(60);
    expect(decodeRemoteFilename(slave)).toMatchObject({ type: 'slave', size: -1 });
    expect(decodeRemoteFilename(slave).trunk).toBeUndefined();
  });

  it('reads no trunk location from a 60-char slave of a normal file', () => {
    const slave = slaveRemoteFilename(SEED1, '_abcdefghijklmno', 'png');
    expect(slave.length).toBe(60);
    const d = decodeRemoteFilename(slave);
    expect(d.type).toBe('slave');
    expect(d.trunk).toBeUndefined();
  });

  it.each([
    [2n ** 53n - 1n, 2 ** 53 - 1],
    [2n ** 53n, -1],
    [2n ** 63n - 1n, -1],
    [0n, 0],
  ])('gives size %s as %d', (size, want) => {
    const d = decodeRemoteFilename(encodeRemoteFilename({ ...base, size }));
    expect(d.size).toBe(want);
    if (size >= 2n ** 32n) expect(d.sizeWord).toBe(size);
  });

  it('takes the ext from the last 7 chars only', () => {
    const slave = slaveRemoteFilename(SEED1, '_v1.0-large', 'png');
    expect(decodeRemoteFilename(slave).ext).toBe('png');
    expect(decodeRemoteFilename(`M00/00/00/${B64}1.2.3ab`).ext).toBe('2.3ab');
  });

  it.each([27, 35, 42])('refuses a dot at %i of a trunk name, naming the file', (i) => {
    const name = withCharAt(TRUNK, 10 + i, '.');
    const err = einval(() => decodeRemoteFilename(name));
    expect(err.message).toBe(`invalid trunk file name "${name}": bad trunk location`);
    expect(err.fileId).toBe(name);
  });

  it.each([1, 13, 26])('refuses a dot at %i of the encoded part, naming the file', (i) => {
    const name = withCharAt(SEED1, 10 + i, '.');
    const err = einval(() => decodeRemoteFilename(name));
    expect(err.message).toBe(`invalid remote filename "${name}": bad encoded part`);
    expect(err.fileId).toBe(name);
  });

  it('says a short name is shorter than 44 chars', () => {
    const name = SEED1.slice(0, 43);
    const err = einval(() => decodeRemoteFilename(name));
    expect(err.message).toBe(`invalid remote filename "${name}": shorter than 44 chars`);
    expect(err.fileId).toBe(name);
  });
});

describe('what validation errors name', () => {
  it.each([
    [`M00/00/00/${'a'.repeat(130)}`, `"M00/00/00/${'a'.repeat(130)}": length 140 outside 22..127`],
    [`M00/00/00/${'a'.repeat(131)}`, `"M00/00/00/${'a'.repeat(130)}…": length 141 outside 22..127`],
    ['M00/00/00/abc', '"M00/00/00/abc": length 13 outside 22..127'],
    ['M00/00/00/.wKgAZWHAQjiAAm4PAAFEJ0J', "name starts with '.'"],
    [`${SEED1}-m`, "'-m' names are metadata sidecars"],
    ['M00/00/00/wKgAZWHAQjiAAm4P/AFEJ0J', 'expected Mxx/HH/LL/<name>'],
  ])('%s', (name, part) => {
    const err = einval(() => validateRemoteFilename(name));
    expect(err.message).toContain(`invalid remote filename ${part.startsWith('"') ? '' : `"${name}": `}`);
    expect(err.message).toContain(part);
    expect(err.fileId).toBe(name);
  });

  it('names the type of a non-string name', () => {
    const err = einval(() => validateRemoteFilename(undefined as unknown as string));
    expect(err.message).toBe('remote filename must be a string, got undefined');
  });

  it('checks group names as strings', () => {
    expect(isValidGroupName(12345 as unknown as string)).toBe(false);
    expect(isValidGroupName('group1')).toBe(true);
    const err = einval(() => validateGroupName(undefined as unknown as string));
    expect(err.message).toBe('invalid group name "undefined": need 1..16 chars [A-Za-z0-9]');
    expect(err.fileId).toBeUndefined();
  });

  it.each([
    [undefined, 'file id must be a string, got undefined'],
    [`/${SEED1}`, `invalid file id "/${SEED1}": expected <group>/<remote filename>`],
    ['group1', 'invalid file id "group1": expected <group>/<remote filename>'],
    [`gr-p/${SEED1}`, `invalid file id "gr-p/${SEED1}": group must be 1..16 chars [A-Za-z0-9]`],
  ])('parseFileId(%j)', (id, message) => {
    const err = einval(() => parseFileId(id as unknown as string));
    expect(err.message).toBe(message);
    if (typeof id === 'string') expect(err.fileId).toBe(id);
  });
});

describe('encode input errors name the field', () => {
  it.each<[Partial<EncodeNameInput>, string]>([
    [{ timestamp: 2 ** 32 }, 'timestamp must be an integer 0..4294967295, got 4294967296'],
    [{ crc32: -1 }, 'crc32 must be an integer 0..4294967295, got -1'],
    [{ randomBits: 0x800000 }, 'randomBits must be an integer 0..8388607, got 8388608'],
    [{ source: { kind: 'id', id: 0x1000000 } }, 'server id must be an integer 0..16777215, got 16777216'],
    [{ source: { kind: 'id', id: 0 } }, 'server id must be 1..16777215, got 0'],
    [{ storePathIndex: 256 }, 'store path index must be an integer 0..255, got 256'],
    [{ subdirHigh: -1 }, 'subdir high must be an integer 0..255, got -1'],
    [{ subdirLow: 1.5 }, 'subdir low must be an integer 0..255, got 1.5'],
    [{ source: { kind: 'ip', ip: 'a1.2.3.4' } }, 'invalid source IPv4 address "a1.2.3.4"'],
    [{ source: { kind: 'ip', ip: '1.2.3.4x' } }, 'invalid source IPv4 address "1.2.3.4x"'],
    [{ size: 1.5 }, 'file size must be an integer, got 1.5'],
    [{ size: -1 }, 'file size out of range: -1'],
    [{ size: 2n ** 63n }, 'file size out of range: 9223372036854775808'],
    [{ kind: 'trunk', size: 2 ** 32 }, 'trunk file size must be < 4 GiB, got 4294967296'],
    [{ trunk: { trunkFileId: 1, offset: 0, allocSize: 1 } }, 'trunk location given for a normal file'],
    [
      { kind: 'appender', trunk: { trunkFileId: 1, offset: 0, allocSize: 1 } },
      'trunk location given for a appender file',
    ],
    [
      { kind: 'trunk', trunk: { trunkFileId: 2 ** 31, offset: 0, allocSize: 1 } },
      'trunk file id must be an integer 0..2147483647, got 2147483648',
    ],
    [
      { kind: 'trunk', trunk: { trunkFileId: 1, offset: -1, allocSize: 1 } },
      'trunk offset must be an integer 0..2147483647, got -1',
    ],
    [
      { kind: 'trunk', trunk: { trunkFileId: 1, offset: 0, allocSize: 0.5 } },
      'trunk alloc size must be an integer 0..2147483647, got 0.5',
    ],
    [{ ext: 'toolong' }, 'invalid file extension "toolong": need ≤ 6 chars of [A-Za-z0-9_.-]'],
    [{ ext: 'a-m' }, `invalid file extension "a-m": must not end with '-m'`],
  ])('%#: %s', (over, message) => {
    expect(einval(() => encodeRemoteFilename({ ...base, ...over })).message).toBe(message);
  });

  it('refuses a non-string ext as invalid input', () => {
    expect(einval(() => validateExt(123 as unknown as string)).message).toMatch(
      /invalid file extension "123"/,
    );
  });

  it.each([
    ['255.255.255.255', 0n],
    ['10.0.0.1', 0n],
  ])('accepts source %s and the smallest and largest sizes', (ip, size) => {
    for (const s of [size, 2n ** 63n - 1n]) {
      const d = decodeRemoteFilename(encodeRemoteFilename({ ...base, source: { kind: 'ip', ip }, size: s }));
      expect(d.source).toEqual({ kind: 'ip', ip });
    }
  });

  it('draws the 23 random size-word bits from the random source', () => {
    const { randomBits: _drop, ...noBits } = base;
    const d = decodeRemoteFilename(encodeRemoteFilename({ ...noBits, random: () => 0.5 }));
    expect(d.sizeWord >> 32n).toBe(0x80000000n | 0x400000n);
    const top = decodeRemoteFilename(encodeRemoteFilename({ ...noBits, random: () => 0.9999999999 }));
    expect(top.sizeWord >> 32n).toBe(0x80000000n | 0x7fffffn);
  });
});

describe('regenerateName edges', () => {
  const appender = encodeRemoteFilename({ ...base, kind: 'appender' });

  it('uses the given random source for the size-word bits', () => {
    const regen = regenerateName(appender, { timestamp: 5, size: 1, crc32: 2, random: () => 0.5 });
    expect(decodeRemoteFilename(regen).sizeWord >> 32n).toBe(0x80000000n | 0x400000n);
  });

  it('refuses a slave of an appender, naming it', () => {
    const slave = slaveRemoteFilename(appender, '_s', 'png');
    expect(decodeRemoteFilename(slave).type).toBe('appender');
    const err = einval(() => regenerateName(slave, { timestamp: 5, size: 1, crc32: 2 }));
    expect(err.message).toBe(`"${slave}" is not an appender file name`);
    expect(err.fileId).toBe(slave);
  });
});

describe('slave name edges', () => {
  const shortest = `M00/00/00/${B64}1`;

  it('accepts the shortest master and refuses one char less', () => {
    expect(slaveRemoteFilename(shortest, '_s', 'png')).toBe(`${shortest}_s.png`);
    const tooShort = `M00/00/00/${B64}`;
    const err = einval(() => slaveRemoteFilename(tooShort, '_s', 'png'));
    expect(err.message).toBe(`invalid master filename "${tooShort}": too short for a slave`);
    expect(err.fileId).toBe(tooShort);
  });

  it('allows prefix -m when an ext follows', () => {
    expect(slaveRemoteFilename(SEED1, '-m', 'png')).toBe(`M00/00/00/${B64}569-m.png`);
  });

  it('says why prefix -m without ext is refused', () => {
    const err = einval(() => slaveRemoteFilename(SEED1, '-m', ''));
    expect(err.message).toBe(`invalid slave prefix "-m" for "${SEED1}": would name a metadata file`);
    expect(err.fileId).toBe(SEED1);
  });

  it.each([
    [123, 'png', 'invalid slave prefix "123": need 1..16 chars of [A-Za-z0-9_.-]'],
    ['a/b', 'png', 'invalid slave prefix "a/b": need 1..16 chars of [A-Za-z0-9_.-]'],
    ['_s', undefined, 'invalid file extension "undefined": need ≤ 6 chars of [A-Za-z0-9_.-]'],
  ])('refuses prefix %j with ext %j', (prefix, ext, message) => {
    const err = einval(() => slaveRemoteFilename(SEED1, prefix as string, ext as string));
    expect(err.message).toBe(message);
  });
});

describe('randomSubdirs bounds', () => {
  it('accepts 1 and 256 subdirs and refuses 0 and 257', () => {
    expect(randomSubdirs(B64, 1)).toEqual({ high: 0, low: 0 });
    const all = randomSubdirs(B64, 256);
    expect(all.high).toBeLessThan(256);
    for (const n of [0, 257, 2.5]) {
      expect(einval(() => randomSubdirs(B64, n)).message).toBe(`subdir count must be 1..256, got ${n}`);
    }
  });
});
