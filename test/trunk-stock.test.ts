/**
 * Trunk files written by our storage, read and taken over by stock FastDFS 6.16.1: our storage
 * (the trunk server) packs uploads and deletes one; then fdfs_trackerd and fdfs_storaged serve
 * the same store directory as is. Every file reads back through FastDFS, and FastDFS, loading
 * our storage_trunk.dat and trunk binlog (as written, or compressed by our trunk server), hands
 * out only free space: its own uploads overwrite none of ours. Needs fdfs_trackerd / fdfs_storaged (../shared/perf/setup-fastdfs.sh);
 * FDFS_SKIP_STOCK=1 skips.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { decodeRemoteFilename } from '../src/fileid/index.js';
import { eventually, tempDir } from './helpers/node-process.js';
import { optOutReason } from './helpers/opt-out.js';
import { serveTrunkStore, TRUNK_TRACKER_KEYS } from './helpers/trunk-store.js';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const remoteOf = (fileId: string) => fileId.slice(fileId.indexOf('/') + 1);
const stock = await access('/usr/bin/fdfs_storaged').then(
  () => true,
  () => false,
);
const skip = optOutReason(
  'FDFS_SKIP_STOCK',
  stock,
  'FastDFS 6.16.1 (fdfs_storaged)',
  '../shared/perf/setup-fastdfs.sh',
);

const COMPRESS_EVERY_SECOND = {
  trunk_compress_binlog_interval: '1',
  trunk_compress_binlog_time_base: '00:00',
};

const pidFiles: string[] = [];
afterAll(async () => {
  for (const f of pidFiles) {
    const pid = Number(await readFile(f, 'utf8').catch(() => '0'));
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  await sleep(500);
});

describe.skipIf(skip !== undefined)('our trunk files under stock FastDFS 6.16.1', () => {
  it.each([
    ['as written', {}],
    // The binlog then holds the free list as A records, storage_trunk.dat its new offset.
    ['after a compression of the trunk binlog', COMPRESS_EVERY_SECOND],
  ])(
    'reads them back and allocates around them (%s)',
    async (_, trackerKeys) => {
      const store = await tempDir('fdfs-trunk-stock-');
      const ours: { id: string; data: Buffer; deleted?: boolean }[] = [];
      const c = await serveTrunkStore(store, { tracker: trackerKeys });
      try {
        for (const n of [10, 300, 5000, 30_000, 65_000, 700, 12]) {
          const data = randomBytes(n);
          ours.push({ id: await c.client.upload(data, { ext: 'bin' }), data });
        }
        await c.client.delete((ours[2] as { id: string }).id);
        (ours[2] as { deleted?: boolean }).deleted = true;
        for (const o of ours) expect(decodeRemoteFilename(remoteOf(o.id)).type).toBe('trunk');
        if (trackerKeys === COMPRESS_EVERY_SECOND) {
          const runs = c.storage.trunks.compressRuns;
          await eventually(async () =>
            expect(c.storage.trunks.compressRuns).toBeGreaterThanOrEqual(runs + 2),
          );
          const lines = (await readFile(join(store, 'data', 'trunk', 'binlog'), 'latin1')).split('\n');
          expect(lines.filter((l) => l !== '' && !/^\d+ A /.test(l))).toEqual([]);
        }
      } finally {
        await c.close();
      }

      // Stock daemons on the same store (the storage on 127.0.0.51, the address our ids name).
      const port = 20_000 + Math.floor(Math.random() * 10_000);
      const tdir = await tempDir('fdfs-stock-tracker-');
      const trackerConf = join(tdir, 'tracker.conf');
      await writeFile(
        trackerConf,
        [
          'bind_addr = 127.0.0.50',
          `port = ${port}`,
          `base_path = ${tdir}`,
          'reserved_storage_space = 1%',
          ...Object.entries(TRUNK_TRACKER_KEYS).map(([k, v]) => `${k} = ${v}`),
          '',
        ].join('\n'),
      );
      const storageConf = join(tdir, 'storage.conf');
      await writeFile(
        storageConf,
        [
          'group_name = group1',
          'bind_addr = 127.0.0.51',
          'client_bind = true',
          `port = ${port + 1}`,
          'heart_beat_interval = 1',
          'stat_report_interval = 2',
          `base_path = ${store}`,
          `store_path0 = ${store}`,
          'subdir_count_per_path = 4',
          `tracker_server = 127.0.0.50:${port}`,
          'thread_stack_size = 512KB',
          '',
        ].join('\n'),
      );
      await run('fdfs_trackerd', [trackerConf, 'start']);
      pidFiles.push(join(tdir, 'data', 'fdfs_trackerd.pid'));
      await run('fdfs_storaged', [storageConf, 'start']);
      pidFiles.push(join(store, 'data', 'fdfs_storaged.pid'));
      const client = new FdfsClient({ trackers: [`127.0.0.50:${port}`] });
      try {
        // Writable once the stock tracker made it the trunk server and it loaded our free list.
        const probe = await eventually(
          () => client.upload(Buffer.from('probe'), { ext: 'txt' }),
          30_000,
          500,
        );
        expect(decodeRemoteFilename(remoteOf(probe)).type).toBe('trunk');
        for (const o of ours) {
          if (o.deleted) await expect(client.downloadBuffer(o.id)).rejects.toMatchObject({ status: 2 });
          else expect(sha(await client.downloadBuffer(o.id)), o.id).toBe(sha(o.data));
        }
        // FastDFS' own small uploads land in free space only: ours stay intact.
        const theirs: { id: string; data: Buffer }[] = [];
        for (const n of [5000, 100, 2000, 40_000, 300]) {
          const data = randomBytes(n);
          theirs.push({ id: await client.upload(data, { ext: 'dat' }), data });
        }
        // The slot we freed is reused, and no slot of theirs overlaps a live one of ours.
        const span = (id: string) => {
          const t = decodeRemoteFilename(remoteOf(id)).trunk;
          if (!t) throw new Error(`${id} is not a trunk file`);
          return [t.offset, t.offset + t.allocSize] as const;
        };
        const [freedFrom, freedTo] = span((ours[2] as { id: string }).id);
        const stockIds = [probe, ...theirs.map((t) => t.id)];
        expect(stockIds.some((id) => span(id)[0] >= freedFrom && span(id)[1] <= freedTo)).toBe(true);
        for (const id of stockIds) {
          for (const o of ours.filter((x) => !x.deleted)) {
            const [a, b] = span(id);
            const [x, y] = span(o.id);
            expect(a >= y || b <= x, `${id} overlaps ${o.id}`).toBe(true);
          }
        }
        for (const o of [...ours.filter((x) => !x.deleted), ...theirs]) {
          expect(sha(await client.downloadBuffer(o.id)), o.id).toBe(sha(o.data));
        }
      } finally {
        await client.close();
      }
    },
    120_000,
  );
});
