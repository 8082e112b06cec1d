/**
 * Issue 8, point 1: a storage takes sync commands only from storages of its group that the
 * trackers list, connecting from the address the trackers recorded. A scripted raw peer on
 * 127.0.0.9 claims an id (its own, in no group, or a real member's) and sends each sync command
 * against a real two-storage cluster: EACCES, connection closed, a warn line, and every stored
 * byte, metadata entry and file name unchanged. Replication between the real members goes on.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { parseFileId } from '../src/fileid/index.js';
import {
  Cmd,
  encodeServerId,
  encodeSyncDelete,
  encodeSyncFile,
  encodeSyncPair,
  encodeSyncRange,
} from '../src/protocol/index.js';
import { type Proc, removeDirs, startStorageProc, startTrackerProc, storedFiles } from './helpers/cluster.js';
import { eventually } from './helpers/node-process.js';
import { header } from './helpers/raw-peer.js';

const procs: Proc[] = [];
let a: Proc;
let b: Proc;
let client: FdfsClient;
const GROUP = 'group1';
const FORGER = '127.0.0.9';

const plain = randomBytes(5000);
const appended = randomBytes(3000);
let fileId = '';
let appenderId = '';
/** Uploaded, then deleted: a forged create must not bring it back. */
let goneId = '';
const META = { owner: 'alice' };

const nameOf = (id: string) => parseFileId(id).remoteFilename;
const packet = (cmd: number, fixed: Buffer, content?: Buffer) =>
  Buffer.concat([header(fixed.length + (content?.length ?? 0), cmd), fixed, content ?? Buffer.alloc(0)]);

/** Sends `bytes` from `from` and reads reply statuses until the storage closes or 3 s pass. */
function fromAddress(
  to: { host: string; port: number },
  from: string,
  bytes: Buffer,
): Promise<{ statuses: number[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: to.host, port: to.port, localAddress: from });
    let buf = Buffer.alloc(0);
    const statuses: number[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ statuses, closed });
    };
    const timer = setTimeout(() => finish(false), 3000);
    s.once('connect', () => s.write(bytes));
    s.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 10) {
        const len = Number(buf.readBigInt64BE(0));
        if (buf.length < 10 + len) break;
        statuses.push(buf[9] ?? -1);
        buf = buf.subarray(10 + len);
      }
    });
    s.on('close', () => finish(true));
    s.on('error', (err) => (statuses.length > 0 ? finish(true) : reject(err)));
  });
}

function forgedCommands(): [string, Buffer][] {
  const ts = Math.floor(Date.now() / 1000);
  const f = nameOf(fileId);
  const p = nameOf(appenderId);
  const g = nameOf(goneId);
  const evil = Buffer.from('forged bytes');
  const evilMeta = Buffer.from('owner\u0002mallory');
  return [
    ['SYNC_CREATE_FILE', packet(Cmd.SYNC_CREATE_FILE, encodeSyncFile(GROUP, g, evil.length, ts), evil)],
    ['SYNC_UPDATE_FILE', packet(Cmd.SYNC_UPDATE_FILE, encodeSyncFile(GROUP, f, evil.length, ts), evil)],
    [
      'SYNC_UPDATE_FILE (metadata)',
      packet(Cmd.SYNC_UPDATE_FILE, encodeSyncFile(GROUP, `${f}-m`, evilMeta.length, ts), evilMeta),
    ],
    ['SYNC_MODIFY_FILE', packet(Cmd.SYNC_MODIFY_FILE, encodeSyncRange(GROUP, p, 0, evil.length, ts), evil)],
    [
      'SYNC_APPEND_FILE',
      packet(Cmd.SYNC_APPEND_FILE, encodeSyncRange(GROUP, p, appended.length, 4, ts), evil.subarray(0, 4)),
    ],
    ['SYNC_TRUNCATE_FILE', packet(Cmd.SYNC_TRUNCATE_FILE, encodeSyncRange(GROUP, p, appended.length, 1, ts))],
    ['SYNC_DELETE_FILE', packet(Cmd.SYNC_DELETE_FILE, encodeSyncDelete(GROUP, f, ts))],
    ['SYNC_CREATE_LINK', packet(Cmd.SYNC_CREATE_LINK, encodeSyncPair(GROUP, g, f, ts))],
    ['SYNC_RENAME_FILE', packet(Cmd.SYNC_RENAME_FILE, encodeSyncPair(GROUP, g, p, ts))],
  ];
}

async function expectUntouched(snapshot: Map<string, string>): Promise<void> {
  expect(await storedFiles(a.base)).toEqual(snapshot);
  expect((await client.downloadBuffer(fileId)).equals(plain)).toBe(true);
  expect((await client.downloadBuffer(appenderId)).equals(appended)).toBe(true);
  expect(await client.getMetadata(fileId)).toEqual(META);
}

beforeAll(async () => {
  const t = await startTrackerProc({ host: '127.0.0.1' });
  procs.push(t);
  const trackers = [{ host: t.host, port: t.port }];
  a = await startStorageProc({ host: '127.0.0.2', group: GROUP, trackers });
  procs.push(a);
  b = await startStorageProc({ host: '127.0.0.3', group: GROUP, trackers });
  procs.push(b);
  client = new FdfsClient(defaultClientConfig(new Map([['tracker_server', [`${t.host}:${t.port}`]]])).config);
  await eventually(async () => {
    const list = await client.listStorages(GROUP);
    expect(list.filter((s) => s.status === 7)).toHaveLength(2);
  }, 20_000);
  fileId = await client.upload(plain, { ext: 'bin' });
  await client.setMetadata(fileId, META);
  appenderId = await client.upload(appended, { ext: 'log', appender: true });
  goneId = await client.upload(Buffer.from('short lived'), { ext: 'txt' });
  await client.delete(goneId);
  // Everything replicated both ways before the forgeries start.
  await eventually(async () => {
    const onA = await storedFiles(a.base);
    expect(onA.size).toBe(3); // the file, its metadata, the appender
    expect(await storedFiles(b.base)).toEqual(onA);
  }, 20_000);
}, 60_000);

afterAll(async () => {
  await client?.close();
  for (const p of procs.reverse()) await p.stop();
  await removeDirs(procs.map((p) => p.base));
});

describe('forged sync peers', () => {
  it.each([
    ['an id in no group', FORGER],
    ['a real member’s id, from another address', '127.0.0.3'],
  ])(
    'claiming %s: every sync command is refused with EACCES, closed, logged; nothing changes',
    async (_, claimed) => {
      const snapshot = await storedFiles(a.base);
      for (const [what, bytes] of forgedCommands()) {
        const hello = packet(Cmd.REPORT_SERVER_ID, encodeServerId(claimed));
        const reply = await fromAddress(a, FORGER, Buffer.concat([hello, bytes]));
        expect({ what, ...reply }).toEqual({ what, statuses: [13], closed: true });
        await expectUntouched(snapshot);
      }
      await eventually(async () => {
        const refused = a.stderr.filter((l) => l.includes('sync peer refused'));
        const line = refused.find((l) => l.includes(`"claimedId":"${claimed}"`));
        expect(line).toBeDefined();
        expect(line).toContain(`"level":"warn"`);
        expect(line).toContain(`${FORGER}:`);
        expect(line).toContain('REPORT_SERVER_ID');
      }, 5000);
    },
  );

  it('a sync command without REPORT_SERVER_ID is refused and closed', async () => {
    const snapshot = await storedFiles(a.base);
    const [, update] = forgedCommands()[1] ?? ['', Buffer.alloc(0)];
    const reply = await fromAddress(a, FORGER, update);
    expect(reply).toEqual({ statuses: [13], closed: true });
    await expectUntouched(snapshot);
  });

  it('a member’s connection that never named itself is known by its address (FastDFS 6.16 pushes over several)', async () => {
    const snapshot = await storedFiles(a.base);
    const ts = Math.floor(Date.now() / 1000);
    const absent = 'M00/00/00/fwAAA2VlAAAAAAAAAAAAAAAAAAA999.bin';
    const del = packet(Cmd.SYNC_DELETE_FILE, encodeSyncDelete(GROUP, absent, ts));
    expect(await fromAddress(a, '127.0.0.3', del)).toEqual({ statuses: [0], closed: false });
    await expectUntouched(snapshot);
  });

  it('the real members still replicate to each other', async () => {
    const more = randomBytes(2000);
    const id = await client.upload(more, { ext: 'bin' });
    await eventually(async () => {
      const onA = await storedFiles(a.base);
      expect(onA.size).toBe(4);
      expect(await storedFiles(b.base)).toEqual(onA);
    }, 20_000);
    expect((await client.downloadBuffer(id)).equals(more)).toBe(true);
  });
});
