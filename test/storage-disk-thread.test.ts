/**
 * The writers small non-durable uploads go through: the native addon's one-thread lane of file
 * jobs (src/storage/native-disk.ts) and, where the addon is not built, the disk thread
 * (src/storage/disk-thread.ts). Both: a file appears under its name complete, a taken name is
 * refused and never replaced (the written temp stays for another name), a record that cannot be
 * written makes no file, records and files go in the order asked, and close() answers what was
 * already asked. The disk thread's own: temp name, link, temp dropped; a failure leaves nothing.
 * A storage that packs small files into trunk slots still does so without durable writes.
 */
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { createFile } from '../src/native/index.js';
import { DiskThread, type DiskWriter } from '../src/storage/disk-thread.js';
import { Binlog } from '../src/storage/index.js';
import { NativeDisk } from '../src/storage/native-disk.js';
import { tempDir } from './helpers/node-process.js';
import { serveTrunkStore } from './helpers/trunk-store.js';

let dir = '';
let disk: DiskThread;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fdfs-disk-thread-'));
  await mkdir(join(dir, 'tmp'));
  await mkdir(join(dir, 'data'));
  disk = DiskThread.start();
});
afterAll(async () => {
  await disk.close();
  await rm(dir, { recursive: true, force: true });
});

const tmp = (n: string) => join(dir, 'tmp', n);
const final = (n: string) => join(dir, 'data', n);

describe('DiskThread.createFile', () => {
  it('writes the bytes, links them into place and drops the temp name', async () => {
    const body = Buffer.alloc(100_000, 7);
    body.write('start');
    // A view into a larger buffer (a socket chunk) is copied; a whole one is handed over.
    const view = Buffer.concat([Buffer.from('xx'), Buffer.from('view')]).subarray(2);
    await Promise.all([
      disk.createFile(tmp('a'), final('a'), body),
      disk.createFile(tmp('b'), final('b'), view),
      disk.createFile(tmp('c'), final('c'), new Uint8Array(0)),
    ]);
    expect((await readFile(final('a'))).subarray(0, 5).toString()).toBe('start');
    expect((await readFile(final('a'))).length).toBe(100_000);
    expect((await readFile(final('b'))).toString()).toBe('view');
    expect((await readFile(final('c'))).length).toBe(0);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('a failure before the link leaves nothing behind', async () => {
    const err = await disk
      .createFile(tmp('n'), join(dir, 'no-such-dir', 'n'), Buffer.from('x'))
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'ENOENT', tempKept: false });
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('a missing temp folder fails and leaves nothing', async () => {
    const noTmpDir = await disk
      .createFile(join(dir, 'missing', 'n'), final('n'), Buffer.from('x'))
      .catch((e) => e);
    expect(noTmpDir).toMatchObject({ code: 'ENOENT', tempKept: false });
    expect(await readdir(join(dir, 'data'))).not.toContain('n');
    expect(await readdir(dir)).not.toContain('missing');
  });
});

// Without the addon built (no C compiler) only the disk thread is there to test.
const writers: [string, () => DiskWriter | undefined, boolean][] = [
  ['the disk thread', () => DiskThread.start(), true],
  ["the addon's file jobs", () => NativeDisk.start(), createFile !== undefined],
];

describe.each(writers)('%s', (_name, start, available) => {
  // Each writer gets a folder of its own, so the two runs never meet each other's names.
  let own = '';
  beforeAll(async () => {
    own = await mkdtemp(join(dir, 'writer-'));
    await mkdir(join(own, 'tmp'));
    await mkdir(join(own, 'data'));
  });
  const tmp = (n: string) => join(own, 'tmp', n);
  const final = (n: string) => join(own, 'data', n);

  it.skipIf(!available)(
    'refuses a taken name with EEXIST, leaves that file alone and keeps the written temp',
    async () => {
      const writer = start() as DiskWriter;
      try {
        await writeFile(final('taken'), 'first');
        const err = await writer.createFile(tmp('t'), final('taken'), Buffer.from('second')).catch((e) => e);
        expect(err).toMatchObject({ code: 'EEXIST', tempKept: true });
        expect(await readFile(final('taken'), 'utf8')).toBe('first');
        expect(await readFile(tmp('t'), 'utf8')).toBe('second');
        await rm(tmp('t'));
        await rm(final('taken'));
      } finally {
        await writer.close();
      }
    },
  );

  it.skipIf(!available)('a record that cannot be written makes no file', async () => {
    const writer = start() as DiskWriter;
    await writeFile(join(own, 'read-only-log'), '');
    const readOnly = await open(join(own, 'read-only-log'), 'r');
    try {
      const err = await writer
        .createFile(tmp('r'), final('r'), Buffer.from('x'), { fd: readOnly.fd, text: 'line\n' })
        .catch((e) => e);
      expect(err).toMatchObject({ code: 'EBADF' });
      expect(err.tempKept ?? false).toBe(false);
    } finally {
      await readOnly.close();
      await writer.close();
    }
    expect(await readdir(join(own, 'data'))).not.toContain('r');
    expect(await readdir(join(own, 'tmp'))).toEqual([]);
  });

  it.skipIf(!available)('writes records and files in the order asked; close waits for them', async () => {
    const writer = start() as DiskWriter;
    const logDir = await mkdtemp(join(own, 'binlog-'));
    const binlog = new Binlog(logDir, false, writer);
    await binlog.open();
    const done: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      if (i % 3 === 0) {
        done.push(binlog.append('D', `n${i}`, undefined, 1_700_000_000));
        continue;
      }
      const log = binlog.claim('C', `n${i}`, undefined, 1_700_000_000);
      expect(log).toBeDefined();
      done.push(writer.createFile(tmp(`l${i}`), final(`l${i}`), Buffer.from(`l${i}`), log));
    }
    await Promise.all(done);
    await binlog.close();
    await writer.close();
    const lines = (await readFile(join(logDir, Binlog.fileName(0)), 'utf8')).trim().split('\n');
    expect(lines).toEqual(
      Array.from({ length: 40 }, (_, i) => `1700000000 ${i % 3 === 0 ? 'D' : 'C'} n${i}`),
    );
    for (let i = 0; i < 40; i++) {
      if (i % 3 !== 0) expect(await readFile(final(`l${i}`), 'utf8')).toBe(`l${i}`);
    }
  });

  it.skipIf(!available)('close() answers the jobs already asked for, then refuses new ones', async () => {
    const writer = start() as DiskWriter;
    const jobs = Array.from({ length: 50 }, (_, i) =>
      writer.createFile(tmp(`q${i}`), final(`q${i}`), Buffer.from(`q${i}`)),
    );
    await writer.close();
    await Promise.all(jobs);
    for (let i = 0; i < 50; i++) expect(await readFile(final(`q${i}`), 'utf8')).toBe(`q${i}`);
    await expect(writer.createFile(tmp('late'), final('late'), Buffer.from('x'))).rejects.toMatchObject({
      status: 5,
    });
  });
});

describe('a non-durable storage with trunk files', () => {
  it('puts a small native upload into a trunk slot, and a bigger one into a normal file', async () => {
    const c = await serveTrunkStore(await tempDir('fdfs-disk-trunk-'), {
      storage: { durable_writes: 'false' },
      host: '127.0.0.57',
    });
    try {
      expect(c.storage.engine.deps.disk).toBeDefined();
      const small = Buffer.from('packed small file');
      const big = Buffer.alloc(200_000, 3);
      const smallId = await c.client.upload(small, { ext: 'bin' });
      const bigId = await c.client.upload(big, { ext: 'bin' });
      expect(decodeRemoteFilename(smallId.slice(smallId.indexOf('/') + 1)).type).toBe('trunk');
      expect(decodeRemoteFilename(bigId.slice(bigId.indexOf('/') + 1)).type).toBe('normal');
      expect(await c.client.downloadBuffer(smallId)).toEqual(small);
      expect(await c.client.downloadBuffer(bigId)).toEqual(big);
    } finally {
      await c.close();
    }
  });
});
