/**
 * What a storage does about crashes and replays, found by the chaos runs: a replayed create does
 * not bring back a file deleted here (tombstones), a change is logged before it becomes visible
 * and a logged delete is finished at start (no file on one replica only), and the temp files of
 * state writes cut by kill -9 are removed at start.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { defaultStorageConfig } from '../src/config/index.js';
import { Binlog, type StorageNode, startStorage } from '../src/storage/index.js';
import { applyDelete, applyFile } from '../src/storage/sync/apply.js';
import { syncTarget } from '../src/storage/sync/index.js';
import { startTracker } from '../src/tracker/index.js';
import { testTrackerConfig } from './helpers/fixtures.js';

const dirs: string[] = [];
const nodes: StorageNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function temp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fdfs-recover-'));
  dirs.push(d);
  return d;
}

async function storage(base: string): Promise<StorageNode> {
  const { config } = defaultStorageConfig(
    new Map([
      ['base_path', [base]],
      ['bind_addr', ['127.0.0.1']],
      ['port', ['0']],
      ['tracker_server', ['127.0.0.1:1']],
      ['subdir_count_per_path', ['4']],
      ['durable_writes', ['false']],
    ]),
  );
  const node = await startStorage(config, { logger: silentLogger });
  nodes.push(node);
  return node;
}

async function restart(node: StorageNode, base: string): Promise<StorageNode> {
  nodes.splice(nodes.indexOf(node), 1);
  await node.close();
  return storage(base);
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** A peer's name (source 127.0.0.2) in store path 0, subdir 00/00. */
const NAME = 'M00/00/00/fwAAAmVlAAAAAAAAAAAAAAAAAAA123.bin';
const CONTENT = Buffer.from('replica content');

function pushCreate(node: StorageNode, name: string, ts: number) {
  return applyFile(
    node.engine,
    syncTarget(node.engine, name),
    Readable.from([CONTENT]),
    CONTENT.length,
    false,
    ts,
  );
}

describe('a replayed create after a delete (tombstones)', () => {
  it('does not bring back a file deleted here, before or after a restart; a newer create applies', async () => {
    const base = await temp();
    let node = await storage(base);
    const path = node.engine.deps.paths.resolve(NAME);
    expect(await pushCreate(node, NAME, 1_700_000_000)).toBe('applied');
    // A client deletes the replica here while the source still has the create to (re)send.
    await node.engine.delete(NAME);
    expect(await pushCreate(node, NAME, 1_700_000_000)).toBe('stale');
    expect(await exists(path)).toBe(false);

    node = await restart(node, base);
    expect(await pushCreate(node, NAME, 1_700_000_000)).toBe('stale');
    expect(await exists(path)).toBe(false);
    // A name made again later (a slave re-uploaded under its master) is news, not a replay.
    expect(await pushCreate(node, NAME, Math.floor(Date.now() / 1000) + 5)).toBe('applied');
    expect(await exists(path)).toBe(true);
  });

  it('a delete that arrived from a third peer before the create wins over that create', async () => {
    const node = await storage(await temp());
    const t = syncTarget(node.engine, NAME);
    expect(await applyDelete(node.engine, t, 1_700_000_005)).toBe('already');
    expect(await pushCreate(node, NAME, 1_700_000_004)).toBe('stale');
    expect(await exists(t.path)).toBe(false);
    // The sidecar of a deleted file is not brought back on its own either.
    const meta = syncTarget(node.engine, `${NAME}-m`);
    const r = await applyFile(
      node.engine,
      meta,
      Readable.from([Buffer.from('a\u0002b')]),
      3,
      true,
      1_700_000_004,
    );
    expect(r).toBe('stale');
    expect(await exists(meta.path)).toBe(false);
  });
});

describe('log first, then change (no change a crash can hide from the peers)', () => {
  /** Holds every binlog append of `op` until released, noting whether `path(name)` existed then. */
  function holdAppends(node: StorageNode, op: string, path: (name: string) => string) {
    const binlog = node.engine.deps.binlog;
    const original = binlog.append.bind(binlog);
    const seen: { name: string; visible: boolean }[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let arrived: () => void = () => {};
    const reached = new Promise<void>((r) => {
      arrived = r;
    });
    binlog.append = async (o: string, name: string, extra?: string, ts?: number) => {
      if (o === op) {
        seen.push({ name, visible: await exists(path(name)) });
        arrived();
        await gate;
      }
      return original(o, name, extra, ts);
    };
    return { seen, release, reached };
  }

  it('an upload is not visible under its name until its create record is logged', async () => {
    const node = await storage(await temp());
    const paths = node.engine.deps.paths;
    const hold = holdAppends(node, 'C', (n) => paths.resolve(n));
    const upload = node.engine.upload({
      body: Readable.from([CONTENT]),
      size: CONTENT.length,
      ext: 'bin',
      storePathIndex: 0xff,
    });
    await hold.reached;
    // A kill -9 now must not leave a file that no binlog record names.
    expect(hold.seen[0]?.visible).toBe(false);
    hold.release();
    const remote = await upload;
    expect(await exists(paths.resolve(remote))).toBe(true);
  });

  it('the same for a small upload read whole, its record appended on its own', async () => {
    const node = await storage(await temp());
    const paths = node.engine.deps.paths;
    // Without the addon the record may ride with the file in the disk thread's job; refusing the
    // claim (as while a new binlog file is being opened) makes that path append it first too.
    node.engine.deps.binlog.claim = () => undefined;
    const hold = holdAppends(node, 'C', (n) => paths.resolve(n));
    const upload = node.engine.uploadData(Buffer.from(CONTENT), 'bin', 0xff);
    await hold.reached;
    expect(hold.seen[0]?.visible).toBe(false);
    hold.release();
    const remote = await upload;
    expect(await readFile(paths.resolve(remote))).toEqual(CONTENT);
  });

  it('a small upload whose record cannot be written leaves no file, and the next one lands', async () => {
    const base = await temp();
    const node = await storage(base);
    const binlog = node.engine.deps.binlog;
    const { claim, append } = binlog;
    const names: string[] = [];
    binlog.claim = () => undefined;
    binlog.append = async (op: string, name: string) => {
      names.push(name);
      throw Object.assign(new Error(`EBADF: write of the record of ${op} ${name}`), { code: 'EBADF' });
    };
    await expect(node.engine.uploadData(Buffer.from(CONTENT), 'bin', 0xff)).rejects.toMatchObject({
      code: 'EBADF',
    });
    expect(names).toHaveLength(1);
    expect(await exists(node.engine.deps.paths.resolve(names[0] ?? ''))).toBe(false);
    expect(await readdir(node.engine.deps.paths.tmpDir(0))).toEqual([]);
    binlog.claim = claim;
    binlog.append = append;
    const remote = await node.engine.uploadData(Buffer.from(CONTENT), 'bin', 0xff);
    expect(await readFile(node.engine.deps.paths.resolve(remote))).toEqual(CONTENT);
    await binlog.close();
    const log = await readFile(join(base, 'data', 'sync', Binlog.fileName(0)), 'utf8');
    expect(log).toMatch(new RegExp(` C ${remote}\\n`));
    nodes.splice(nodes.indexOf(node), 1);
    await node.close();
  });

  it('a delete is logged before the file goes, and start finishes a delete a crash cut short', async () => {
    const base = await temp();
    let node = await storage(base);
    const paths = node.engine.deps.paths;
    const remote = await node.engine.upload({
      body: Readable.from([CONTENT]),
      size: CONTENT.length,
      ext: 'bin',
      storePathIndex: 0xff,
    });
    const hold = holdAppends(node, 'D', (n) => paths.resolve(n));
    const deleting = node.engine.delete(remote);
    await hold.reached;
    expect(hold.seen[0]?.visible).toBe(true);
    hold.release();
    await deleting;

    // The state kill -9 leaves between the record and the unlink: record logged, file still there.
    const path = paths.resolve(remote);
    await writeFile(path, CONTENT);
    node = await restart(node, base);
    expect(await exists(path)).toBe(false);
    const log = await readFile(join(base, 'data', 'sync', Binlog.fileName(0)), 'utf8');
    expect(log).toMatch(new RegExp(` D ${remote}\\n`));
  });
});

describe('state temp files a kill -9 left', () => {
  it('are removed at start; other files stay', async () => {
    const base = await temp();
    const data = join(base, 'data');
    await mkdir(join(data, 'sync'), { recursive: true });
    await mkdir(join(data, 'trunk'), { recursive: true });
    const temps = [
      join(data, 'storage_stat.dat.0a1b2c3d.tmp'),
      join(data, '.data_init_flag.deadbeef.tmp'),
      join(data, 'sync', 'binlog_index.dat.01234567.tmp'),
      join(data, 'sync', '127.0.0.2_23000.mark.89abcdef.tmp'),
      // A trunk server's mark of how far a peer holds its trunk binlog (found by chaos --trunk).
      join(data, 'trunk', '127.0.0.3_41767.mark.623b19b0.tmp'),
    ];
    for (const t of temps) await writeFile(t, 'torn');
    await writeFile(join(data, 'sync', 'notes.tmp'), 'not ours');
    await storage(base);
    for (const t of temps) expect(await exists(t), t).toBe(false);
    expect(await exists(join(data, 'sync', 'notes.tmp'))).toBe(true);
  });

  it('the tracker removes its state temp at start too (found by npm run chaos)', async () => {
    const base = await temp();
    await mkdir(join(base, 'data'), { recursive: true });
    const torn = join(base, 'data', 'cluster_state.dat.fd9b80c9.tmp');
    await writeFile(torn, 'torn');
    const tracker = await startTracker(testTrackerConfig(base), { logger: silentLogger });
    try {
      expect(await exists(torn)).toBe(false);
    } finally {
      await tracker.close();
    }
  });
});
