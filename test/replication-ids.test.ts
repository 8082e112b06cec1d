/**
 * Peers are told apart by id, never by "is this one of my addresses": two storages of a group on
 * 127.0.0.1 itself (different ports, storage ids), and two that bind every interface and
 * advertise their own address (their links to the tracker all come from 127.0.0.1), replicate
 * both ways, small files and those past the 256 KiB a sync record carries in one buffer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { decodeRemoteFilename, parseFileId } from '../src/fileid/index.js';
import { StorageStatus } from '../src/protocol/index.js';
import { type Proc, removeDirs, startStorageProc, startTrackerProc, storedFiles } from './helpers/cluster.js';
import { uploadDirect } from './helpers/direct.js';
import { eventually, tempDir } from './helpers/node-process.js';

const T = 60_000;
const procs: Proc[] = [];
const clients: FdfsClient[] = [];
const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const p of procs.reverse()) await p.stop();
  await removeDirs(procs.map((p) => p.base));
});

function clientOf(t: Proc): FdfsClient {
  const c = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`${t.host}:${t.port}`]]])).config,
  );
  clients.push(c);
  return c;
}

async function bothWays(client: FdfsClient, group: string, x: Proc, y: Proc, xAddr: string, yAddr: string) {
  await eventually(async () => {
    const list = await client.listStorages(group);
    expect(list.map((s) => s.status)).toEqual([StorageStatus.ACTIVE, StorageStatus.ACTIVE]);
  }, 20_000);
  const files = new Map<string, string>();
  // Files up to 256 KiB travel as one buffer each way, bigger ones stream: both sides of the line.
  const sizes = [...Array.from({ length: 10 }, (_, i) => 64 + i), 256 * 1024, 256 * 1024 + 1, 700_000];
  for (const size of sizes) {
    for (const [s, addr] of [
      [x, xAddr],
      [y, yAddr],
    ] as const) {
      const content = randomBytes(size);
      files.set(await uploadDirect(client, { host: addr, port: s.port }, content, 'txt'), sha1(content));
    }
  }
  await eventually(async () => {
    for (const s of [x, y]) {
      const stored = await storedFiles(s.base);
      for (const [id, hash] of files) expect(stored.get(parseFileId(id).remoteFilename)).toBe(hash);
    }
  }, 20_000);
  return files;
}

describe('replication between storages on one host', () => {
  it(
    'two storages on 127.0.0.1 with storage ids (server_id, ids in file names) replicate both ways',
    async () => {
      const base = await tempDir('fdfs-ids-');
      await writeFile(
        join(base, 'storage_ids.conf'),
        '# id group address\n100001 group9 127.0.0.1\n100002 group9 127.0.0.1\n',
      );
      const t = await startTrackerProc({
        base,
        sets: [
          'use_storage_id=true',
          `storage_ids_filename=${join(base, 'storage_ids.conf')}`,
          'id_type_in_filename=id',
        ],
      });
      procs.push(t);
      const trackers = [{ host: t.host, port: t.port }];
      const x = await startStorageProc({
        host: '127.0.0.1',
        group: 'group9',
        trackers,
        sets: ['server_id=100001'],
      });
      const y = await startStorageProc({
        host: '127.0.0.1',
        group: 'group9',
        trackers,
        sets: ['server_id=100002'],
      });
      procs.push(x, y);
      const client = clientOf(t);
      const files = await bothWays(client, 'group9', x, y, '127.0.0.1', '127.0.0.1');
      // id_type_in_filename = id: names carry the storage id, which survives an address change.
      const ids = new Set(
        [...files.keys()].map((id) =>
          JSON.stringify(decodeRemoteFilename(parseFileId(id).remoteFilename).source),
        ),
      );
      expect([...ids].sort()).toEqual([
        JSON.stringify({ kind: 'id', id: 100001 }),
        JSON.stringify({ kind: 'id', id: 100002 }),
      ]);
      for (const [id, hash] of files) expect(sha1(await client.downloadBuffer(id))).toBe(hash);
      expect((await client.listStorages('group9')).map((s) => [s.id, s.storagePort])).toEqual([
        ['100001', x.port],
        ['100002', y.port],
      ]);
    },
    T,
  );

  it(
    'storages that bind every interface and advertise their own address replicate both ways',
    async () => {
      const t = await startTrackerProc();
      procs.push(t);
      const trackers = [{ host: t.host, port: t.port }];
      const x = await startStorageProc({
        host: '0.0.0.0',
        group: 'group7',
        trackers,
        sets: ['advertise_addr=127.0.0.8'],
      });
      const y = await startStorageProc({
        host: '0.0.0.0',
        group: 'group7',
        trackers,
        sets: ['advertise_addr=127.0.0.9'],
      });
      procs.push(x, y);
      const client = clientOf(t);
      const files = await bothWays(client, 'group7', x, y, '127.0.0.8', '127.0.0.9');
      const list = await client.listStorages('group7');
      expect(list.map((s) => [s.id, s.ip])).toEqual([
        ['127.0.0.8', '127.0.0.8'],
        ['127.0.0.9', '127.0.0.9'],
      ]);
      // File ids carry the advertised address, and downloads through the tracker find them.
      const sources = new Set(
        [...files.keys()].map((id) =>
          JSON.stringify(decodeRemoteFilename(parseFileId(id).remoteFilename).source),
        ),
      );
      expect([...sources].sort()).toEqual([
        JSON.stringify({ kind: 'ip', ip: '127.0.0.8' }),
        JSON.stringify({ kind: 'ip', ip: '127.0.0.9' }),
      ]);
      for (const [id, hash] of files) expect(sha1(await client.downloadBuffer(id))).toBe(hash);
    },
    T,
  );
});
