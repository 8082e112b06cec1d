/**
 * The storage keeps FastDFS' disk layout: an existing FastDFS store directory is served as is,
 * and new files are spread over HH/LL the way file_distribute_path_mode 0 and 1 say.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FdfsClient } from '../src/client/index.js';
import { Status, silentLogger } from '../src/common/index.js';
import { defaultClientConfig, defaultStorageConfig, defaultTrackerConfig } from '../src/config/index.js';
import { randomSubdirs } from '../src/fileid/index.js';
import { packMetadata } from '../src/protocol/index.js';
import { type StorageNode, startStorage } from '../src/storage/index.js';
import { StorePaths } from '../src/storage/store-paths.js';
import { startTracker, type TrackerHandle } from '../src/tracker/index.js';
import { eventually, tempDir } from './helpers/node-process.js';

const map = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, [v]]));
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function cluster(base: string, storage: Record<string, string> = {}) {
  const tracker: TrackerHandle = await startTracker(
    defaultTrackerConfig(map({ base_path: join(base, 'tracker'), port: '0', bind_addr: '127.0.0.1' })).config,
    { logger: silentLogger },
  );
  open.push(tracker);
  const node: StorageNode = await startStorage(
    defaultStorageConfig(
      map({
        base_path: join(base, 'storage'),
        store_path0: join(base, 'store'),
        port: '0',
        bind_addr: '127.0.0.1',
        tracker_server: `127.0.0.1:${tracker.address.port}`,
        ...storage,
      }),
    ).config,
    { logger: silentLogger },
  );
  open.push(node);
  const client = new FdfsClient(
    defaultClientConfig(map({ tracker_server: `127.0.0.1:${tracker.address.port}` })).config,
  );
  open.push(client);
  await eventually(async () => {
    const [g] = await client.listGroups();
    if (!g || g.writableCount < 1) throw new Error('storage not writable yet');
  });
  return client;
}

describe('FastDFS disk layout', () => {
  it('serves files and metadata that a FastDFS storage left in its store path', async () => {
    const base = await tempDir();
    // What FastDFS 6.x leaves behind: data/HH/LL/<name>, a -m sidecar, and its binlog.
    const name = 'wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png';
    const content = Buffer.alloc(82_983, 7);
    await mkdir(join(base, 'store', 'data', '00', '00'), { recursive: true });
    await writeFile(join(base, 'store', 'data', '00', '00', name), content);
    await writeFile(join(base, 'store', 'data', '00', '00', `${name}-m`), packMetadata({ width: '1024' }));
    await mkdir(join(base, 'storage', 'data', 'sync'), { recursive: true });
    await writeFile(join(base, 'storage', 'data', 'sync', 'binlog.000'), `1639989816 C M00/00/00/${name}\n`);
    await writeFile(
      join(base, 'storage', 'data', 'sync', 'binlog_index.dat'),
      'current_write=0\ncurrent_compress=0\n',
    );

    const client = await cluster(base);
    const id = `group1/M00/00/00/${name}`;
    expect((await client.downloadBuffer(id)).equals(content)).toBe(true);
    expect(await client.getMetadata(id)).toEqual({ width: '1024' });
    const info = await client.fileInfo(id);
    expect(info).toMatchObject({
      size: 82_983,
      source: { kind: 'ip', ip: '192.168.0.101' },
      timestamp: 1639989816,
    });

    // New records go after the old ones in the same binlog.
    const fresh = await client.upload(Buffer.from('new'), { ext: 'txt' });
    const binlog = await readFile(join(base, 'storage', 'data', 'sync', 'binlog.000'), 'utf8');
    expect(binlog.split('\n').filter(Boolean)).toEqual([
      `1639989816 C M00/00/00/${name}`,
      expect.stringMatching(new RegExp(`^\\d+ C ${fresh.slice('group1/'.length)}$`)),
    ]);
  });

  it('mode 0 fills 00/00 with file_distribute_rotate_count files, then moves to 00/01', async () => {
    const client = await cluster(await tempDir(), { file_distribute_rotate_count: '3' });
    const dirs: string[] = [];
    for (let i = 0; i < 7; i++) dirs.push((await client.upload(Buffer.from(`f${i}`))).slice(11, 17));
    expect(dirs).toEqual(['00/00/', '00/00/', '00/00/', '00/01/', '00/01/', '00/01/', '00/02/']);
  });

  it('mode 1 puts each file in the HH/LL its name hashes to', async () => {
    const client = await cluster(await tempDir(), {
      file_distribute_path_mode: '1',
      subdir_count_per_path: '16',
    });
    for (let i = 0; i < 10; i++) {
      const remote = (await client.upload(Buffer.from(`h${i}`))).slice('group1/'.length);
      const { high, low } = randomSubdirs(remote.slice(10, 37), 16);
      const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
      expect(remote.slice(4, 9)).toBe(`${hex(high)}/${hex(low)}`);
    }
  });
});

describe('StorePaths', () => {
  const name = 'M01/0A/FF/wKgBaGVhbmFBAAAAAAAQAGfaocM318.jpg';
  const reserve = { kind: 'ratio', ratio: 0 } as const;

  it('makes the paths path.join makes, whatever shape the roots have', () => {
    const roots = ['/srv/fdfs/a', '/srv/fdfs//b/', 'rel/c/./', '/'];
    const paths = new StorePaths(roots, reserve);
    roots.forEach((root, i) => {
      const remote = `M0${i}${name.slice(3)}`;
      expect(paths.resolve(remote)).toBe(join(root, 'data', remote.slice(4)));
      expect(paths.dirOf(i, 10, 255)).toBe(join(root, 'data', '0A', 'FF'));
      expect(paths.tmpDir(i)).toBe(join(root, 'data', '.tmp'));
    });
  });

  it('refuses names that are no stored file and store paths it does not have', () => {
    const paths = new StorePaths(['/srv/a', '/srv/b'], reserve);
    for (const bad of ['M00/00/../../etc/passwd', 'M00/00/00/../x.jpg', 'M00/00/00/.hidden', name.slice(1)])
      expect(() => paths.resolve(bad)).toThrow(expect.objectContaining({ status: Status.EINVAL }));
    expect(() => paths.resolve(`M05${name.slice(3)}`)).toThrow(
      expect.objectContaining({ status: Status.EINVAL }),
    );
    expect(() => paths.dirOf(2, 0, 0)).toThrow(expect.objectContaining({ status: Status.EINVAL }));
  });
});
