/**
 * The addon's file jobs (src/native/files.c): a new file written and synced in one thread-pool
 * job, as durable small uploads make their temp files, a temp file given its name in one, a
 * folder synced in one, a binlog's lines written and synced in one. They
 * must write exactly the bytes they are given, never replace a file, fail as node:fs fails and
 * leave nothing behind when they fail; and an upload must store the same file whichever way its
 * temp file was made and named.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, readSync } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendSync, createFile, moveNew, syncDir } from '../src/native/index.js';
import { canBuildAddon } from './helpers/native.js';
import { NATIVE_PATHS, nodeForTests } from './helpers/native-paths.js';
import { tempDir } from './helpers/node-process.js';
import { storedNames, tempNames } from './helpers/stored.js';

it.skipIf(!canBuildAddon())('is built with the addon on a machine with a C compiler and Node headers', () => {
  expect(typeof createFile).toBe('function');
  expect(typeof moveNew).toBe('function');
  expect(typeof syncDir).toBe('function');
  expect(typeof appendSync).toBe('function');
});

describe.skipIf(!createFile)('createFile', () => {
  const create = createFile as NonNullable<typeof createFile>;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('fdfs-native-create-');
  });

  it('writes exactly the bytes of the view it is given, synced or not', async () => {
    const whole = randomBytes(300_000);
    const view = whole.subarray(1000, 201_000); // an offset into a larger buffer
    await create(join(dir, 'a'), view, true);
    expect((await readFile(join(dir, 'a'))).equals(view)).toBe(true);
    await create(join(dir, 'b'), Buffer.alloc(0), false);
    expect((await stat(join(dir, 'b'))).size).toBe(0);
  });

  it('never replaces a file: EEXIST, as node:fs reports it, and the old bytes stay', async () => {
    const path = join(dir, 'taken');
    await writeFile(path, 'first');
    const err = await create(path, Buffer.from('second'), true).catch((e: NodeJS.ErrnoException) => e);
    expect(err).toMatchObject({ code: 'EEXIST', errno: -17, path });
    expect(await readFile(path, 'utf8')).toBe('first');
  });

  it('fails with ENOENT in a folder that is not there, and a NUL in the name is refused', async () => {
    await expect(create(join(dir, 'no', 'such'), Buffer.from('x'), true)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await expect(create(`${dir}/a\0b`, Buffer.from('x'), true)).rejects.toThrow(/NUL/);
  });

  it('with a target, names the written file there in the same job', async () => {
    const bytes = randomBytes(5000);
    await create(join(dir, 'named.tmp'), bytes, true, join(dir, 'named'));
    expect((await readFile(join(dir, 'named'))).equals(bytes)).toBe(true);
    await expect(stat(join(dir, 'named.tmp'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('with a target, links an unnamed file there: no temp name is made', async () => {
    // The temp's folder is missing: only the unnamed (O_TMPFILE) path can succeed.
    const bytes = randomBytes(3000);
    await create(join(dir, 'absent', 'u.tmp'), bytes, true, join(dir, 'unnamed'));
    expect((await readFile(join(dir, 'unnamed'))).equals(bytes)).toBe(true);
    await expect(stat(join(dir, 'absent'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('with a taken target: EEXIST marked tempKept, the old file untouched, the new one left complete', async () => {
    await writeFile(join(dir, 'owned'), 'owner');
    const err = await create(join(dir, 'late.tmp'), Buffer.from('latecomer'), true, join(dir, 'owned')).catch(
      (e: NodeJS.ErrnoException & { tempKept?: boolean }) => e,
    );
    expect(err).toMatchObject({ code: 'EEXIST', tempKept: true, path: join(dir, 'owned') });
    expect(await readFile(join(dir, 'owned'), 'utf8')).toBe('owner');
    expect(await readFile(join(dir, 'late.tmp'), 'utf8')).toBe('latecomer');
    // A failure before the file was complete is not tempKept, and leaves no file behind.
    const early = await create(join(dir, 'no', 'x.tmp'), Buffer.from('x'), true, join(dir, 'no', 'y')).catch(
      (e: NodeJS.ErrnoException & { tempKept?: boolean }) => e,
    );
    expect(early).toMatchObject({ code: 'ENOENT' });
    expect(early).not.toHaveProperty('tempKept');
  });
  it('with a record: appends it, then makes the file; a record that cannot be written makes no file', async () => {
    const log = join(dir, 'binlog');
    await writeFile(log, 'before\n');
    const fh = await open(log, 'a');
    try {
      await create(join(dir, 'r.tmp'), Buffer.from('body'), false, join(dir, 'r'), {
        fd: fh.fd,
        bytes: Buffer.from('1700000000 C r\n'),
      });
    } finally {
      await fh.close();
    }
    expect(await readFile(log, 'utf8')).toBe('before\n1700000000 C r\n');
    expect(await readFile(join(dir, 'r'), 'utf8')).toBe('body');
    const readOnly = await open(log, 'r');
    try {
      const err = await create(join(dir, 's.tmp'), Buffer.from('body'), false, join(dir, 's'), {
        fd: readOnly.fd,
        bytes: Buffer.from('1700000000 C s\n'),
      }).catch((e: NodeJS.ErrnoException) => e);
      expect(err).toMatchObject({ code: 'EBADF' });
    } finally {
      await readOnly.close();
    }
    await expect(stat(join(dir, 's'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, 's.tmp'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(log, 'utf8')).toBe('before\n1700000000 C r\n');
  });
});

describe.skipIf(!moveNew)('moveNew', () => {
  const move = moveNew as NonNullable<typeof moveNew>;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('fdfs-native-move-');
  });

  it('gives the file its new name and drops the old one', async () => {
    await writeFile(join(dir, 'from'), 'bytes');
    await move(join(dir, 'from'), join(dir, 'to'));
    expect(await readFile(join(dir, 'to'), 'utf8')).toBe('bytes');
    await expect(stat(join(dir, 'from'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never replaces a file: EEXIST, and both stay as they were', async () => {
    await writeFile(join(dir, 'new'), 'new');
    await writeFile(join(dir, 'old'), 'old');
    await expect(move(join(dir, 'new'), join(dir, 'old'))).rejects.toMatchObject({
      code: 'EEXIST',
      path: join(dir, 'old'),
    });
    expect(await readFile(join(dir, 'old'), 'utf8')).toBe('old');
    expect(await readFile(join(dir, 'new'), 'utf8')).toBe('new');
  });

  it('fails with ENOENT when there is nothing to move', async () => {
    await expect(move(join(dir, 'none'), join(dir, 'other'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe.skipIf(!syncDir || !appendSync)('syncDir and appendSync', () => {
  const sync = syncDir as NonNullable<typeof syncDir>;
  const append = appendSync as NonNullable<typeof appendSync>;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('fdfs-native-sync-');
  });

  it('syncDir syncs a folder, and fails as open would on anything else', async () => {
    await sync(dir);
    await writeFile(join(dir, 'file'), 'x');
    await expect(sync(join(dir, 'file'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(sync(join(dir, 'none'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('appendSync adds every byte at the end of an O_APPEND file, synced or not', async () => {
    const path = join(dir, 'log');
    await writeFile(path, 'head\n');
    const fh = await open(path, 'a');
    try {
      const big = randomBytes(1 << 20);
      await append(fh.fd, Buffer.from('one\n'), true);
      await append(fh.fd, big, false);
      await append(fh.fd, Buffer.from('two\n').subarray(1), true);
      const back = await readFile(path);
      expect(back.subarray(0, 9).toString()).toBe('head\none\n');
      expect(back.subarray(9, 9 + big.length).equals(big)).toBe(true);
      expect(back.subarray(9 + big.length).toString()).toBe('wo\n');
    } finally {
      await fh.close();
    }
    await expect(append(1 << 20, Buffer.from('x'), false)).rejects.toMatchObject({ code: 'EBADF' });
  });
});

// The jobs run on the addon's own threads (jobs.c), not on libuv's pool of 4, in two lanes: jobs
// that sync may all wait on a slow disk at once and must not hold up the next ones; jobs that do
// not sync run one at a time, in the order asked. Writes stuck on full FIFOs (nobody reads them
// yet) stand for a disk that does not answer.
describe.skipIf(!createFile || !appendSync)('job threads', () => {
  const size = 256 * 1024;
  async function fifos(dir: string, n: number) {
    return Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const path = join(dir, `fifo${i}`);
        await promisify(execFile)('mkfifo', [path]);
        // O_RDWR: opening a FIFO this way never waits for the other end (Linux)
        const writer = await open(path, constants.O_RDWR);
        const reader = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
        return { writer, reader };
      }),
    );
  }
  const append = appendSync as NonNullable<typeof appendSync>;
  const create = createFile as NonNullable<typeof createFile>;

  it('more than four blocked syncing jobs leave a new one free to run, and finish once unblocked', async () => {
    const dir = await tempDir('fdfs-native-jobs-');
    const stuckOn = await fifos(dir, 8);
    try {
      // A FIFO takes the write but cannot be synced (EINVAL): settled is what counts here.
      const stuck = stuckOn.map((f) => append(f.writer.fd, Buffer.alloc(size, 7), true).catch((e) => e));
      await create(join(dir, 'free'), Buffer.from('ran'), true);
      expect(await readFile(join(dir, 'free'), 'utf8')).toBe('ran');
      const got = await Promise.all(stuckOn.map((f) => drain(f.reader.fd, size)));
      expect(got).toEqual(Array(8).fill(size));
      for (const r of await Promise.all(stuck)) expect(r).toMatchObject({ code: 'EINVAL' });
    } finally {
      for (const f of stuckOn) {
        await f.writer.close();
        await f.reader.close();
      }
    }
  });

  it('jobs that do not sync run one at a time, in order, beside the syncing ones', async () => {
    const dir = await tempDir('fdfs-native-lane-');
    const [f] = await fifos(dir, 1);
    if (!f) throw new Error('no FIFO');
    try {
      const order: string[] = [];
      const stuck = append(f.writer.fd, Buffer.alloc(size, 7), false).then(() => order.push('stuck'));
      const behind = create(join(dir, 'behind'), Buffer.from('b'), false).then(() => order.push('behind'));
      // A syncing job has its own threads: it finishes while the unsynced one waits its turn.
      await create(join(dir, 'synced'), Buffer.from('s'), true);
      expect(order).toEqual([]);
      await expect(stat(join(dir, 'behind'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await drain(f.reader.fd, size)).toBe(size);
      await Promise.all([stuck, behind]);
      expect(order).toEqual(['stuck', 'behind']);
      expect(await readFile(join(dir, 'behind'), 'utf8')).toBe('b');
    } finally {
      await f.writer.close();
      await f.reader.close();
    }
  });

  it('a job in flight keeps node running until it is done, as a pending node:fs call does', async () => {
    const dir = await tempDir('fdfs-native-alive-');
    const addon = new URL('../dist/src/native/index.js', import.meta.url).href;
    const path = join(dir, 'last');
    // The script's last act starts a job; nothing else keeps the loop alive.
    const script = `const { createFile } = await import(${JSON.stringify(addon)});
      createFile(${JSON.stringify(path)}, Buffer.alloc(1 << 20, 1), true).then(() => console.log('done'));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
    expect(stdout.trim()).toBe('done');
    expect((await stat(path)).size).toBe(1 << 20);
  });
});

/** Reads `want` bytes from a non-blocking fd, yielding to the loop while it is empty. */
async function drain(fd: number, want: number): Promise<number> {
  const buf = Buffer.alloc(64 * 1024);
  let got = 0;
  while (got < want) {
    try {
      got += readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  return got;
}

// Durable small uploads make their temp file through createFile when the addon is built, through
// open/pwritev/fdatasync/close otherwise: the stored file must be the same either way.
describe.each(NATIVE_PATHS)('durable small uploads, $path', ({ env }) => {
  const run = nodeForTests({ env });

  it('stores each upload under its own name, byte for byte, with no temp file left', async () => {
    const { node, client } = run;
    const bodies = [randomBytes(4096), randomBytes(1), randomBytes(200_000)];
    const ids = await Promise.all(
      [...bodies, bodies[0] as Buffer].map((b) => client.upload(b, { ext: 'bin' })),
    );
    expect(new Set(ids).size).toBe(4);
    for (const [i, id] of ids.entries()) {
      const want = bodies[i % 3] as Buffer;
      expect((await client.downloadBuffer(id)).equals(want)).toBe(true);
      expect((await client.fileInfo(id)).size).toBe(want.length);
    }
    expect(await tempNames(node.base)).toEqual([]);
    expect((await storedNames(node.base)).length).toBeGreaterThanOrEqual(4);
  });
});
