/**
 * "Durable before resolved" for the lmdb namespace, seen from the system calls (kill -9 cannot
 * show it: the page cache outlives a killed process). A child does three puts one after another
 * under strace and prints `acked <i>` as each resolves. Each ack must come after its transaction's
 * last page write, an fdatasync of data.mdb after that, and the meta-page write that follows (LMDB
 * writes the meta page through an O_DSYNC descriptor: that write returning means it is on disk).
 * With durable: false no sync happens at all. FDFS_SKIP_STRACE=1 skips it.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/node-process.js';
import { parseStrace, STRACE, type Syscall, straceSkipReason } from './helpers/strace.js';

const skip = straceSkipReason();
const CHILD = resolve(import.meta.dirname, '../dist/test/namespace/sync-writer.js');
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function traced(durable: boolean): Promise<{ calls: Syscall[]; out: string }> {
  const dir = await tempDir('fdfs-ns-strace-');
  dirs.push(dir);
  const log = join(dir, 'strace.log');
  const args = [
    '-f',
    '--seccomp-bpf',
    '-tt',
    '-yy',
    '-xx',
    '-s',
    '64',
    '-e',
    'trace=fsync,fdatasync,msync,write,pwrite64,pwritev,writev',
  ];
  const child = spawn(
    STRACE,
    [...args, '-o', log, process.execPath, CHILD, join(dir, 'db'), String(durable)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  expect(code).toBe(0);
  return { calls: parseStrace(await readFile(log, 'utf8')), out };
}

const onDb = (c: Syscall) => (c.fdPath ?? '').endsWith('/db/data.mdb');

describe.skipIf(skip !== undefined)('lmdb namespace durability under strace', () => {
  it('syncs data, then writes the meta page, before each put resolves', async () => {
    const { calls, out } = await traced(true);
    expect(out).toBe('acked 0 ok\nacked 1 ok\nacked 2 ok\n');
    let previousAck = -1;
    for (let i = 0; i < 3; i++) {
      const ack = calls.find((c) => c.name === 'write' && c.data.toString().startsWith(`acked ${i}`));
      if (!ack) throw new Error(`no ack ${i} in the log`);
      const between = calls.filter((c) => onDb(c) && c.start > previousAck && c.end < ack.start);
      // Page writes are whole pages; the meta page write is 128 bytes.
      const lastPage = between.findLast((c) => c.name !== 'fdatasync' && c.name !== 'fsync' && c.ret !== 128);
      expect(lastPage, `pages written before ack ${i}`).toBeDefined();
      const sync = between.find((c) => c.start > (lastPage?.end ?? 0) && /sync/.test(c.name));
      expect(sync, `a sync of data.mdb after the last page write, before ack ${i}`).toBeDefined();
      const meta = between.find((c) => c.start > (sync?.end ?? 0) && c.name === 'pwrite64' && c.ret === 128);
      expect(meta, `the meta page written after that sync, before ack ${i}`).toBeDefined();
      previousAck = ack.end;
    }
  });

  it('durable: false syncs nothing', async () => {
    const { calls, out } = await traced(false);
    expect(out).toBe('acked 0 ok\nacked 1 ok\nacked 2 ok\n');
    expect(calls.filter(onDb).length).toBeGreaterThan(0);
    expect(calls.filter((c) => onDb(c) && /sync/.test(c.name))).toEqual([]);
  });
});
