/**
 * Issue #4 acceptance, with real processes: two trackers, group1 = A + B, group2 = C (joining at
 * run time), each storage on its own 127.0.0.x address; later a fresh D joins group1. Files are
 * compared straight from the storages' disks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdfsClient, resolveSource, StorageClient } from '../src/client/index.js';
import { defaultClientConfig } from '../src/config/index.js';
import { parseFileId } from '../src/fileid/index.js';
import { type StorageStat, StorageStatus } from '../src/protocol/index.js';
import { fdfs } from './helpers/cli.js';
import {
  exists,
  type Proc,
  removeDirs,
  startStorageProc,
  startTrackerProc,
  storedFiles,
} from './helpers/cluster.js';
import { uploadDirect } from './helpers/direct.js';
import { eventually } from './helpers/node-process.js';

const T = 120_000;
const procs: Proc[] = [];
let t1: Proc;
let t2: Proc;
let a: Proc;
let b: Proc;
let client: FdfsClient;
/** file id → sha1 of what was uploaded, for files that should exist. */
const live = new Map<string, string>();
const deleted = new Set<string>();

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const trackers = () => [t1, t2].map((t) => ({ host: t.host, port: t.port }));

function clientFor(ts: readonly Proc[]): FdfsClient {
  const list = ts.map((t) => `${t.host}:${t.port}`);
  return new FdfsClient(defaultClientConfig(new Map([['tracker_server', list]])).config);
}

async function storages(group: string, on: FdfsClient = client): Promise<StorageStat[]> {
  return on.listStorages(group).catch(() => []);
}

async function statusOn(tracker: Proc, group: string, ip: string): Promise<number | undefined> {
  const one = clientFor([tracker]);
  try {
    return (await storages(group, one)).find((s) => s.ip === ip)?.status;
  } finally {
    await one.close();
  }
}

async function activeOnBoth(group: string, ip: string): Promise<void> {
  await eventually(async () => {
    for (const t of [t1, t2]) expect(await statusOn(t, group, ip)).toBe(StorageStatus.ACTIVE);
  }, 20_000);
}

async function startStorage(
  host: string,
  group: string,
  extra: { base?: string; port?: number; httpPort?: number } = {},
) {
  const p = await startStorageProc({ host, group, trackers: trackers(), ...extra });
  procs.push(p);
  return p;
}

/** Uploads straight to one storage (not through a tracker), as "a stream of uploads to A". */
async function uploadTo(s: Proc, content: Buffer): Promise<string> {
  const id = await uploadDirect(client, s, content);
  live.set(id, sha1(content));
  return id;
}

/** Every live group1 file is on `s` with the uploaded bytes; no deleted one is. */
async function holdsGroup1(s: Proc): Promise<void> {
  const files = await storedFiles(s.base);
  for (const [id, hash] of live) {
    const { group, remoteFilename } = parseFileId(id);
    if (group === 'group1') expect(files.get(remoteFilename), `${id} on ${s.host}`).toBe(hash);
  }
  for (const id of deleted) {
    const { group, remoteFilename } = parseFileId(id);
    if (group === 'group1') expect(files.has(remoteFilename), `${id} deleted on ${s.host}`).toBe(false);
  }
}

async function sameFiles(x: Proc, y: Proc): Promise<void> {
  const [fx, fy] = await Promise.all([storedFiles(x.base), storedFiles(y.base)]);
  expect(fy.size).toBe(fx.size);
  expect(new Map([...fy].sort())).toEqual(new Map([...fx].sort()));
}

/** ESTABLISHED TCP connections from `from` to `to:port` (IPv4 loopback, /proc/net/tcp). */
async function linksBetween(from: string, to: string, port: number): Promise<number> {
  const hex = (ip: string, p?: number) =>
    ip
      .split('.')
      .reverse()
      .map((x) => Number(x).toString(16).padStart(2, '0').toUpperCase())
      .join('') + (p === undefined ? '' : `:${p.toString(16).padStart(4, '0').toUpperCase()}`);
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1);
  return rows.filter((r) => {
    const [, local = '', remote = '', state] = r.trim().split(/\s+/);
    return state === '01' && local.startsWith(`${hex(from)}:`) && remote === hex(to, port);
  }).length;
}

beforeAll(async () => {
  [t1, t2] = await Promise.all([startTrackerProc(), startTrackerProc()]);
  procs.push(t1, t2);
  client = clientFor([t1, t2]);
  // B runs the HTTP gateway beside it, as a storage machine would instead of nginx + module.
  [a, b] = await Promise.all([
    startStorage('127.0.0.2', 'group1'),
    startStorage('127.0.0.3', 'group1', { httpPort: 0 }),
  ]);
  await activeOnBoth('group1', '127.0.0.2');
  await activeOnBoth('group1', '127.0.0.3');
}, T);

afterAll(async () => {
  if (process.env.SHOW_LOGS) for (const p of procs) for (const l of p.stderr) console.log(p.role, p.host, l);
  await client?.close();
  for (const p of procs.reverse()) await p.stop();
  await removeDirs(procs.map((p) => p.base));
});

describe('replication across processes', () => {
  it(
    '1,000 uploads round-robin over groups (group2 joins at run time); group1 is identical on A and B, deletes and metadata included',
    async () => {
      const groups = new Map<string, number>();
      const put = async (i: number) => {
        const content = randomBytes(i % 7 === 0 ? 70_000 : 1 + (i % 3000));
        const id = await client.upload(content, { ext: 'bin' });
        live.set(id, sha1(content));
        const g = parseFileId(id).group;
        groups.set(g, (groups.get(g) ?? 0) + 1);
        return id;
      };
      for (let i = 0; i < 20; i++) await put(i);
      expect([...groups.keys()]).toEqual(['group1']);
      // A group that appears while the cluster runs is used by store_lookup = 0 (round robin).
      await startStorage('127.0.0.4', 'group2');
      await activeOnBoth('group2', '127.0.0.4');
      let next = 20;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < 1000) await put(next++);
        }),
      );
      expect(groups.get('group1')).toBeGreaterThan(300);
      expect(groups.get('group2')).toBeGreaterThan(300);

      const group1 = [...live.keys()].filter((id) => id.startsWith('group1/'));
      for (const id of group1.slice(0, 30)) await client.setMetadata(id, { width: '640', by: 'test' });
      for (const id of group1.slice(0, 10)) await client.setMetadata(id, { height: '480' }, 'merge');
      for (const id of group1.slice(30, 80)) {
        await client.delete(id);
        live.delete(id);
        deleted.add(id);
      }
      await eventually(async () => {
        await holdsGroup1(a);
        await holdsGroup1(b);
        await sameFiles(a, b);
      }, 30_000);
      const onB = (await storedFiles(b.base)).get(`${parseFileId(group1[0] ?? '').remoteFilename}-m`);
      expect(onB).toBeDefined();
      expect(await client.getMetadata(group1[0] ?? '')).toEqual({ width: '640', by: 'test', height: '480' });
    },
    T,
  );

  it(
    'appender changes (append, modify, truncate, rename) and slave files reach the peer',
    async () => {
      const appender = await client.upload(Buffer.from('hello'), {
        ext: 'log',
        group: 'group1',
        appender: true,
      });
      await client.append(appender, Buffer.from(' world'));
      await client.append(appender, Buffer.from('!!!'));
      await client.modify(appender, 0, Buffer.from('HE'));
      await client.truncate(appender, 11);
      const other = await client.upload(Buffer.from('to be renamed'), {
        ext: 'txt',
        group: 'group1',
        appender: true,
      });
      await client.append(other, Buffer.from(' later'));
      const renamed = await client.regenerateAppenderFilename(other);
      const slave = await client.uploadSlave(renamed, Buffer.from('thumb'), { prefix: '_s' });
      live.set(appender, sha1(Buffer.from('HEllo world')));
      live.set(renamed, sha1(Buffer.from('to be renamed later')));
      live.set(slave, sha1(Buffer.from('thumb')));
      deleted.add(other);
      await eventually(async () => {
        await holdsGroup1(a);
        await holdsGroup1(b);
        await sameFiles(a, b);
      }, 30_000);
    },
    T,
  );

  it(
    'the trackers learn how far each storage has synced (last_synced_timestamp)',
    async () => {
      const now = Math.floor(Date.now() / 1000);
      await eventually(async () => {
        for (const s of await storages('group1')) {
          // Watermarks keep it moving while nothing is uploaded (a few seconds behind, by design).
          expect(s.counters.lastSyncedTimestamp).toBeGreaterThan(now - 10);
          expect(s.counters.lastHeartBeatTime).toBeGreaterThan(now - 60);
        }
      }, 20_000);
    },
    T,
  );

  it(
    'per peer too: command 121 lists A←B and B←A, and fdfs monitor prints a "synced from" line for each',
    async () => {
      const [ipA, ipB] = [a.host, b.host];
      const now = Math.floor(Date.now() / 1000);
      await eventually(async () => {
        const rows = await client.syncStatus('group1');
        expect(rows?.map((r) => `${r.dest}<-${r.source}`)).toEqual([`${ipA}<-${ipB}`, `${ipB}<-${ipA}`]);
        for (const r of rows ?? []) {
          expect(r.syncedUntil).toBeGreaterThan(now - 10);
          expect(r.syncedUntil).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 1);
        }
      }, 20_000);

      // The built CLI, as an operator runs it, against one tracker.
      const r = await fdfs([
        'monitor',
        '-',
        '--set',
        `tracker_server=${t1.host}:${t1.port}`,
        'list',
        'group1',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const storageBlocks = r.out.split(/\n\tStorage \d+:\n/).slice(1);
      const block = (ip: string) => storageBlocks.find((s) => s.includes(`ip_addr = ${ip} `)) ?? '';
      const synced = /synced from (\S+) until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(delay [^)]+\)/;
      expect(synced.exec(block(ipA))?.[1]).toBe(ipB);
      expect(synced.exec(block(ipB))?.[1]).toBe(ipA);

      const json = JSON.parse(
        (await fdfs(['monitor', '-', '--set', `tracker_server=${t1.host}:${t1.port}`, '--json'])).out,
      ) as { groups: { groupName: string; storages: { ip: string; syncFrom: { source: string }[] }[] }[] };
      const group1 = json.groups.find((g) => g.groupName === 'group1');
      expect(group1?.storages.map((s) => [s.ip, s.syncFrom.map((p) => p.source)])).toEqual([
        [ipA, [ipB]],
        [ipB, [ipA]],
      ]);
    },
    T,
  );

  it(
    "upload to A, download at once through the client and through B's gateway 100 times: no not-found",
    async () => {
      const gw = b.http;
      expect(gw).toBeDefined();
      for (let i = 0; i < 100; i++) {
        const content = randomBytes(100 + i);
        const id = await uploadTo(a, content);
        expect(sha1(await client.downloadBuffer(id))).toBe(sha1(content));
        // B may not hold the file yet: its gateway must fetch it from a replica that does.
        const res = await fetch(`http://${gw?.host}:${gw?.port}/${id}`);
        expect(res.status, id).toBe(200);
        expect(sha1(Buffer.from(await res.arrayBuffer()))).toBe(sha1(content));
      }
    },
    T,
  );

  it(
    'a storage that stops beating goes OFFLINE and comes back ACTIVE',
    async () => {
      b.child.kill('SIGSTOP');
      try {
        await eventually(
          async () => expect(await statusOn(t1, 'group1', '127.0.0.3')).toBe(StorageStatus.OFFLINE),
          20_000,
        );
      } finally {
        b.child.kill('SIGCONT');
      }
      await activeOnBoth('group1', '127.0.0.3');
    },
    T,
  );

  it(
    'kill -9 B during uploads to A, keep uploading, restart B: B converges to exactly A and is ACTIVE again',
    async () => {
      let uploaded = 0;
      const stream = (async () => {
        for (let i = 0; i < 300; i++, uploaded++) {
          const id = await uploadTo(a, randomBytes(50 + i * 13));
          if (i % 10 === 0) {
            await client.delete(id);
            live.delete(id);
            deleted.add(id);
          } else if (i % 10 === 5) await client.setMetadata(id, { i: String(i) });
        }
      })();
      await eventually(async () => expect(uploaded).toBeGreaterThan(80), 20_000, 5);
      const port = b.port;
      await b.kill9();
      await eventually(
        async () => expect(await statusOn(t1, 'group1', '127.0.0.3')).toBe(StorageStatus.OFFLINE),
        20_000,
      );
      await stream;
      b = await startStorage('127.0.0.3', 'group1', { base: b.base, port });
      await activeOnBoth('group1', '127.0.0.3');
      await eventually(async () => {
        await holdsGroup1(b);
        await sameFiles(a, b);
      }, 30_000);
    },
    T,
  );

  it(
    'an appender appended to and renamed while B was down reaches B whole under its new name',
    async () => {
      // B holds the first version; the append record is pushed only after the rename, when the
      // old name is gone here: the rename must not leave B's stale copy under the new name.
      const stored = await client.pool.use({ host: a.host, port: a.port }, async (conn) =>
        new StorageClient(conn).upload({
          storePathIndex: 0xff,
          ext: 'log',
          content: await resolveSource(Buffer.from('first ')),
          appender: true,
        }),
      );
      const first = `${stored.group}/${stored.remote}`;
      await eventually(async () => {
        expect((await storedFiles(b.base)).get(stored.remote)).toBe(sha1(Buffer.from('first ')));
      }, 30_000);
      const port = b.port;
      await b.stop();
      await client.append(first, Buffer.from('and second'));
      await client.setMetadata(first, { v: '2' });
      const renamed = await client.regenerateAppenderFilename(first);
      live.set(renamed, sha1(Buffer.from('first and second')));
      deleted.add(first);
      b = await startStorage('127.0.0.3', 'group1', { base: b.base, port });
      await eventually(async () => {
        await holdsGroup1(b);
        await sameFiles(a, b);
      }, 30_000);
    },
    T,
  );

  it(
    'a backlog goes to B over several connections; kill -9 B while it takes it in: B converges to exactly A',
    async () => {
      const port = b.port;
      await b.stop();
      const appender = await client.upload(Buffer.from('a'), { ext: 'log', group: 'group1', appender: true });
      let text = 'a';
      for (let i = 0; i < 300; i++) {
        const id = await uploadTo(a, randomBytes(100 + i));
        if (i % 7 === 0) await client.setMetadata(id, { i: String(i) });
        if (i % 11 === 0) {
          await client.delete(id);
          live.delete(id);
          deleted.add(id);
        }
        if (i % 40 === 0) {
          // Positioned writes of one file must land in order, whatever lane they travel.
          await client.append(appender, Buffer.from(String(i)));
          text += String(i);
        }
      }
      live.set(appender, sha1(Buffer.from(text)));
      b = await startStorage('127.0.0.3', 'group1', { base: b.base, port });
      // Links from A to B, counted in the kernel's table while B takes the backlog in.
      let most = 0;
      const counting = setInterval(() => {
        void linksBetween(a.host, b.host, port).then((n) => {
          most = Math.max(most, n);
        });
      }, 10);
      await eventually(async () => expect((await storedFiles(b.base)).size).toBeGreaterThan(100), 30_000, 20);
      clearInterval(counting);
      await b.kill9();
      b = await startStorage('127.0.0.3', 'group1', { base: b.base, port });
      await activeOnBoth('group1', '127.0.0.3');
      await eventually(async () => {
        await holdsGroup1(b);
        await sameFiles(a, b);
      }, 30_000);
      expect(most).toBeGreaterThan(1);
    },
    T,
  );

  it(
    'a fresh D copies the whole group before it is ACTIVE, and is not sent readers before',
    async () => {
      const before = await storedFiles(a.base);
      const sample = [...live.keys()].filter((id) => id.startsWith('group1/')).slice(0, 20);
      const d = await startStorage('127.0.0.5', 'group1');
      const seen = new Set<number>();
      let activeAt: Map<string, string> | undefined;
      await eventually(
        async () => {
          const st = await statusOn(t1, 'group1', '127.0.0.5');
          if (st !== undefined) seen.add(st);
          if (st !== StorageStatus.ACTIVE) {
            for (const id of sample) {
              const readers = await client.tracker.queryFetchAll(id);
              expect(readers.map((r) => r.ip)).not.toContain('127.0.0.5');
            }
            throw new Error('not active yet');
          }
          activeAt = await storedFiles(d.base);
        },
        60_000,
        20,
      );
      expect(seen.has(StorageStatus.WAIT_SYNC) || seen.has(StorageStatus.SYNCING)).toBe(true);
      expect(activeAt?.size).toBe(before.size);
      expect(new Map([...(activeAt ?? [])].sort())).toEqual(new Map([...before].sort()));
      await activeOnBoth('group1', '127.0.0.5');
      await holdsGroup1(d);

      // DELETE_STORAGE (93): a stopped D can be removed; its peers drop their sync marks for it.
      await d.stop();
      await eventually(
        async () => expect(await statusOn(t1, 'group1', '127.0.0.5')).toBe(StorageStatus.OFFLINE),
        20_000,
      );
      await client.tracker.deleteStorage('group1', '127.0.0.5');
      for (const t of [t1, t2]) expect(await statusOn(t, 'group1', '127.0.0.5')).toBe(StorageStatus.DELETED);
      const mark = (s: Proc) => join(s.base, 'data', 'sync', `127.0.0.5_${d.port}.mark`);
      await eventually(async () => {
        expect(await exists(mark(a))).toBe(false);
        expect(await exists(mark(b))).toBe(false);
      }, 20_000);
    },
    T,
  );

  it(
    'kill one tracker: uploads and downloads go on through the other without errors',
    async () => {
      await t1.kill9();
      for (let i = 0; i < 100; i++) {
        const content = randomBytes(200 + i);
        const id = await client.upload(content, { ext: 'bin' });
        expect(sha1(await client.downloadBuffer(id))).toBe(sha1(content));
      }
    },
    T,
  );
});
