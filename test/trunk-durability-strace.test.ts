/**
 * Durable uploads into trunk files, seen from the system calls (durable_writes = true, the storage
 * under strace as its group's trunk server): the upload's bytes are written into the trunk file
 * and that file synced, and the binlog record written and synced — both before the reply that
 * names the file; the slot's D record reaches the trunk binlog too.
 * FDFS_SKIP_STRACE=1 skips it; without that, a missing strace fails it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { formatTrunkRecord, locate, trunkFilePath } from '../src/storage/trunk/index.js';
import { type Proc, removeDirs, startStorageProc, startTrackerProc } from './helpers/cluster.js';
import { eventually, tempDir } from './helpers/node-process.js';
import { exchange, fixed, header, int64 } from './helpers/raw-peer.js';
import {
  parseStrace,
  READS,
  SYNCS,
  type Syscall,
  straceSkipReason,
  straceWrap,
  WRITES,
} from './helpers/strace.js';
import { TRUNK_TRACKER_KEYS } from './helpers/trunk-store.js';

const skip = straceSkipReason();
const RESP = 100;
let dir = '';
const procs: Proc[] = [];
let run: { base: string; calls: Syscall[]; remote: string } | undefined;
const marker = Buffer.from(`trunk durable upload ${Date.now().toString(36)}`);

/** Raw upload (11) to the storage itself; returns the 60-char trunk name. */
async function upload(p: Proc, content: Buffer): Promise<string> {
  const body = Buffer.concat([Buffer.from([0xff]), int64(content.length), fixed('bin', 6), content]);
  const want = 10 + 16 + 60;
  const r = await exchange(p.host, p.port, Buffer.concat([header(body.length, 11), body]), {
    want,
    waitMs: 10_000,
  });
  expect([...r.data.subarray(8, 10)]).toEqual([RESP, 0]);
  return r.data.subarray(10 + 16).toString('utf8');
}

function find(calls: readonly Syscall[], what: string, pred: (c: Syscall) => boolean): Syscall {
  const c = calls.find(pred);
  if (!c) throw new Error(`strace log has no ${what}`);
  return c;
}

beforeAll(async () => {
  if (skip) return;
  dir = await tempDir('fdfs-trunk-strace-');
  const tracker = await startTrackerProc({
    base: join(dir, 'tracker'),
    sets: Object.entries(TRUNK_TRACKER_KEYS).map(([k, v]) => `${k}=${v}`),
  });
  procs.push(tracker);
  const log = join(dir, 's.strace');
  const s = await startStorageProc({
    host: '127.0.0.5',
    group: 'group1',
    trackers: [tracker],
    base: join(dir, 's'),
    sets: ['durable_writes=true'],
    wrap: straceWrap(log),
  });
  procs.push(s);
  const client = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${tracker.host}:${tracker.port}`]]])).config,
  );
  try {
    await eventually(async () => {
      const id = await client.upload(Buffer.from('warm'), { ext: 'txt' });
      if (decodeRemoteFilename(id.slice(7)).type !== 'trunk') throw new Error('not packing yet');
    }, 30_000);
    const remote = await upload(s, marker);
    await s.stop();
    run = { base: s.base, calls: parseStrace(await readFile(log, 'utf8')), remote };
  } finally {
    await client.close();
  }
}, 90_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  await removeDirs([dir].filter(Boolean));
});

describe.skipIf(skip !== undefined)('durable uploads into trunk files under strace', () => {
  it('syncs the trunk file and the binlog record before the reply', () => {
    const { base, calls, remote } = run ?? { base: '', calls: [], remote: '' };
    const loc = locate(remote);
    if (!loc) throw new Error(`${remote} is not a trunk name`);
    const request = find(
      calls,
      'the upload request',
      (c) =>
        READS.has(c.name) && c.ret > 0 && c.fdPath?.startsWith('TCP:') === true && c.data.includes(marker),
    );
    const reply = find(
      calls,
      'its reply',
      (c) => WRITES.has(c.name) && c.ret > 0 && c.fdPath === request.fdPath && c.start > request.end,
    );
    expect(reply.data.subarray(10 + 16).toString('utf8')).toBe(remote);
    const trunk = trunkFilePath(base, loc.slot);
    const write = find(
      calls,
      `the bytes written into ${trunk}`,
      (c) => WRITES.has(c.name) && c.fdPath === trunk && c.data.includes(marker),
    );
    const dataSync = find(
      calls,
      `sync of ${trunk}`,
      (c) => SYNCS.has(c.name) && c.fdPath === trunk && c.start > write.end,
    );
    expect(dataSync.end).toBeLessThan(reply.start);
    const binlog = join(base, 'data', 'sync', 'binlog.000');
    const cWrite = find(
      calls,
      'the binlog record',
      (c) => WRITES.has(c.name) && c.fdPath === binlog && c.data.includes(` C ${remote}\n`),
    );
    // The record may go out beside the bytes (a crash between leaves a name nobody was given,
    // whose slot holds no header: pushers skip it, the free list keeps the slot).
    // The trunk server's own D record (the slot taken for good) goes to the trunk binlog, synced
    // unhurried: a restart checks the free list against the binlog record (reconcile.ts).
    const trunkLog = join(base, 'data', 'trunk', 'binlog');
    const confirm = formatTrunkRecord({ ts: 0, op: 'D', slot: loc.slot }).slice(2);
    find(
      calls,
      "the trunk binlog's D record of the slot",
      (c) => WRITES.has(c.name) && c.fdPath === trunkLog && c.data.toString('latin1').includes(confirm),
    );
    const cSync = find(
      calls,
      'binlog sync',
      (c) => SYNCS.has(c.name) && c.fdPath === binlog && c.start > cWrite.end,
    );
    expect(cSync.end).toBeLessThan(reply.start);
  });
});
