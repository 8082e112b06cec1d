/**
 * Issue 12: what stock FastDFS 6.16.1 daemons sent each other, recorded once with the real
 * daemons (test/interop/record.sh → test/data/interop/*.json), replayed here against ours by
 * scripted raw-TCP peers, so CI needs no FastDFS. Each request a recorded daemon got is sent to
 * ours from the address its sender had, in the recorded order; our answer must be the stock
 * daemon's, or differ only as the README's compatibility notes explain (EXPLAINED below).
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Connection, FdfsClient } from '../src/client/index.js';
import { type LogFields, type Logger, silentLogger } from '../src/common/index.js';
import { defaultClientConfig, defaultStorageConfig } from '../src/config/index.js';
import {
  Cmd,
  cmdName,
  decodeSyncDelete,
  decodeSyncFileHead,
  decodeSyncPair,
  decodeSyncRangeHead,
  encodeJoin,
  encodePacket,
  FrameReader,
  StorageStatus,
  SYNC_FILE_FIXED,
  SYNC_RANGE_FIXED,
  statusName,
} from '../src/protocol/index.js';
import { startStorage } from '../src/storage/index.js';
import { startTracker, type TrackerHandle } from '../src/tracker/index.js';
import { testTrackerConfig } from './helpers/fixtures.js';
import { joinGroupPeer } from './helpers/group-peer.js';
import { eventually } from './helpers/node-process.js';
import {
  type ChangeView,
  compareTracker,
  compareViews,
  type Difference,
  type Normalizer,
} from './interop/compare.js';
import { loadRecording, type Recording } from './interop/recording.js';
import { replaceAll, replay } from './interop/replay.js';

/**
 * Differences from a stock daemon, by key pattern, each with where the README says why. A
 * difference under any other key fails the test.
 */
const EXPLAINED: readonly { readonly key: RegExp; readonly why: string }[] = [
  {
    key: /^81 my_status$/,
    why: 'README, mixed clusters table: a storage alone in its group that needs data is ONLINE at join (stock: INIT until its 87 finds no source)',
  },
  {
    key: /^75 storage_ip_changed_auto_adjust$/,
    why: 'README, mixed clusters table: no storage IP-change tracking, so 0 (storages then send no 77)',
  },
  {
    key: /^75 store_slave_file_use_link$/,
    why: 'README, mixed clusters table: slave files are always stored as files (store_slave_file_use_link is not used)',
  },
  {
    key: /^69 lines$/,
    why: 'README, mixed clusters table: a storage_ids.conf entry without a port matches any port and is listed without one (6.16 takes 23000)',
  },
  {
    key: /^75 (slot_\w+|trunk_\w+)$/,
    why: 'README, mixed clusters table: the replay runs our tracker with its defaults, not the recorded tracker.conf',
  },
];
const explained = (key: string) => EXPLAINED.some((e) => e.key.test(key));

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A port on `host` that nothing listens on (bound, then closed). */
function deadPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function faceOf(rec: Recording, name: string): string | undefined {
  const entry = Object.entries(rec.nodes).find(([, n]) => n === name);
  return entry?.[0].split(':')[0];
}

/** Our tracker in the place of recorded tracker `role`; the other recorded trackers are unreachable. */
async function trackerWorld(rec: Recording, role: string, scene: string) {
  const base = await mkdtemp(join(tmpdir(), 'fdfs-interop-'));
  cleanups.push(() => rm(base, { recursive: true, force: true }));
  const ids = join(base, 'storage_ids.conf');
  await writeFile(ids, '100001 group1 127.0.0.181\n100002 group1 127.0.0.182\n');
  const host = faceOf(rec, role) ?? '';
  const t: TrackerHandle = await startTracker(
    testTrackerConfig(base, {
      bindAddr: host,
      port: 0,
      connectTimeout: 500,
      networkTimeout: 5000,
      useStorageId: scene === 'ids',
      storageIdsFilename: ids,
      // As the recorded trackers (FastDFS' sample tracker.conf).
      idTypeInFilename: scene === 'ids' ? 'id' : 'ip',
      reservedStorageSpace: { kind: 'ratio', ratio: 0.2 },
      checkActiveInterval: 20_000,
    }),
    { logger: silentLogger, electLeader: false },
  );
  cleanups.push(() => t.close());
  // Recorded address (ip:22122) of each tracker → its address here.
  const moved = new Map<string, string>();
  const ports = new Map<number, number>();
  for (const [addr, name] of Object.entries(rec.nodes)) {
    if (!name.startsWith('t')) continue;
    const ip = addr.split(':')[0] ?? '';
    const port = name === role ? t.address.port : await deadPort(ip);
    moved.set(addr, `${ip}:${port}`);
    ports.set(port, Number(addr.split(':')[1]));
  }
  const rewrite = (cmd: number, body: Buffer, c: { client: string }) => {
    if (
      cmd === Cmd.STORAGE_JOIN ||
      cmd === Cmd.TRACKER_NOTIFY_NEXT_LEADER ||
      cmd === Cmd.TRACKER_COMMIT_NEXT_LEADER
    ) {
      let b = body;
      for (const [from, to] of moved) b = replaceAll(b, from, to);
      return b;
    }
    if (cmd === Cmd.TRACKER_JOIN_LEADER) {
      // up_time int64, version str[8], then the joining tracker's port int64.
      const to = moved.get(`${faceOf(rec, c.client)}:22122`);
      const b = Buffer.from(body);
      if (to) b.writeBigInt64BE(BigInt(to.split(':')[1] ?? 0), 16);
      return b;
    }
    return body;
  };
  const norm: Normalizer = {
    port: (p) => ports.get(p) ?? p,
    text: (s) => {
      let out = s;
      for (const [from, to] of moved) out = out.replaceAll(to, from);
      return out;
    },
  };
  const from = (c: { client: string; clientAddr: string }) =>
    faceOf(rec, c.client) ?? c.clientAddr.split(':')[0] ?? '127.0.0.1';
  return { t, rewrite, norm, from };
}

/** When the recorded tracker `role` became leader (its commit), or never. */
function leaderSince(rec: Recording, role: string): number {
  let t = Number.POSITIVE_INFINITY;
  for (const c of rec.connections) {
    for (const p of c.packets) {
      if (c.client === role && p.dir === 'req' && p.cmd === Cmd.TRACKER_COMMIT_NEXT_LEADER)
        t = Math.min(t, p.t);
    }
  }
  return t;
}

/**
 * Stock joins to a tracker that knows no group yet take a while (it asks the other trackers for
 * their data files first), and its answers to other trackers meanwhile depend on how far it got:
 * tracker-to-tracker answers recorded inside such a window are not comparable.
 */
function joinWindows(rec: Recording, server: string): [number, number][] {
  const out: [number, number][] = [];
  for (const c of rec.connections) {
    if (c.server !== server) continue;
    c.packets.forEach((p, i) => {
      const a = c.packets[i + 1];
      if (p.dir === 'req' && p.cmd === Cmd.STORAGE_JOIN && a?.dir === 'resp') out.push([p.t, a.t]);
    });
  }
  return out;
}

function check(
  exchanges: Awaited<ReturnType<typeof replay>>,
  rec: Recording,
  role: string,
  norm: Normalizer,
): Difference[] {
  const windows = joinWindows(rec, role);
  const racing = (sent: number, cmd: number) =>
    cmd >= 58 && cmd <= 68 && windows.some(([from, to]) => sent > from && sent < to);
  const views = new Map<number, { stock: ChangeView; ours: ChangeView }>();
  const diffs: Difference[] = exchanges
    .filter((ex) => !racing(ex.sent, ex.cmd))
    .flatMap((ex) =>
      compareTracker(ex, norm, views).map((d) => ({
        key: d.key,
        detail: `${ex.conn.client}→${role} #${ex.conn.id}: ${d.detail}`,
      })),
    );
  diffs.push(...compareViews(views, norm));
  return diffs.filter((d) => !explained(d.key));
}

/** Commands the replay must have compared (answered OK by both), so a thin recording fails. */
function answered(exchanges: Awaited<ReturnType<typeof replay>>): Set<number> {
  return new Set(
    exchanges.filter((e) => e.expected?.status === 0 && e.actual?.status === 0).map((e) => e.cmd),
  );
}

describe.each(['plain', 'ids'])('recorded FastDFS 6.16.1 (%s): our tracker', (scene) => {
  const rec = loadRecording(scene);
  // The stock leader of the recording is the tracker that committed itself; another one followed.
  const leader = ['t1', 't2', 't3'].find((r) => Number.isFinite(leaderSince(rec, r))) ?? 't2';
  const follower = leader === 't1' ? 't2' : 't1';

  it('as the leader answers the storages, trackers and tools as the stock leader did', async () => {
    const since = leaderSince(rec, leader);
    const { t, rewrite, norm, from } = await trackerWorld(rec, leader, scene);
    const exchanges = await replay(rec, {
      server: leader,
      target: t.address,
      from,
      rewrite,
      // Ours elects itself where the stock one did (the other trackers are unreachable here).
      before: async (_cmd, _c, at) => {
        if (at >= since && !t.relationship.leaderSelf) await t.relationship.tick();
      },
    });
    expect(check(exchanges, rec, leader, norm)).toEqual([]);
    // Join, beats and reports, sync-source commands, leader commands, data files, tools' queries.
    const must = [60, 81, 83, 84, 77, 88, 89, 86, 76, 64, 58, 65, 61, 63, 62, 91, 92];
    must.push(...(scene === 'ids' ? [85] : [87, 101, 103]));
    expect([...answered(exchanges)]).toEqual(expect.arrayContaining(must));
    expect(t.relationship.leaderSelf).toBe(true);
  });

  it('as a follower takes the leader’s notices and answers as the stock follower did', async () => {
    const { t, rewrite, norm, from } = await trackerWorld(rec, follower, scene);
    const exchanges = await replay(rec, { server: follower, target: t.address, from, rewrite });
    expect(check(exchanges, rec, follower, norm)).toEqual([]);
    const must = [60, 75, 81, 83, 64, 66, 67];
    if (scene === 'ids') must.push(69); // storage ids, fetched from this tracker in that run
    expect([...answered(exchanges)]).toEqual(expect.arrayContaining(must));
    // The recorded leader's commit (67) made it leader here too.
    expect([t.relationship.leaderSelf, norm.text(t.relationship.leaderText() ?? '')]).toEqual([
      false,
      `${faceOf(rec, leader)}:22122`,
    ]);
  });
});

/**
 * The files a storage must hold after the recorded sync stream to `role`, by logic file name:
 * what FastDFS' own receiver ended with (each command applied once, in order).
 */
function expectedFiles(rec: Recording, role: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  // What the stock receiver applied (answered OK), across its connections in answer order.
  const applied: { t: number; p: (typeof rec.connections)[number]['packets'][number] }[] = [];
  for (const c of rec.connections) {
    if (c.server !== role || !c.client.startsWith('s')) continue;
    c.packets.forEach((p, i) => {
      const a = c.packets[i + 1];
      if (p.dir === 'req' && a?.dir === 'resp' && a.status === 0) applied.push({ t: a.t, p });
    });
  }
  applied.sort((x, y) => x.t - y.t);
  for (const { p } of applied) {
    const b = Buffer.from(p.body, 'hex');
    if (p.cmd === Cmd.SYNC_CREATE_FILE || p.cmd === Cmd.SYNC_UPDATE_FILE) {
      const h = decodeSyncFileHead(b.subarray(0, SYNC_FILE_FIXED));
      const name = b.toString('utf8', SYNC_FILE_FIXED, SYNC_FILE_FIXED + h.nameLen);
      files.set(name, b.subarray(SYNC_FILE_FIXED + h.nameLen));
    } else if (p.cmd === Cmd.SYNC_DELETE_FILE) {
      files.delete(decodeSyncDelete(b).name);
    } else if (p.cmd === Cmd.SYNC_APPEND_FILE || p.cmd === Cmd.SYNC_MODIFY_FILE) {
      const h = decodeSyncRangeHead(b.subarray(0, SYNC_RANGE_FIXED));
      const name = b.toString('utf8', SYNC_RANGE_FIXED, SYNC_RANGE_FIXED + h.nameLen);
      const data = b.subarray(SYNC_RANGE_FIXED + h.nameLen);
      const old = files.get(name) ?? Buffer.alloc(0);
      const out = Buffer.alloc(Math.max(old.length, h.a + h.b));
      old.copy(out);
      data.copy(out, h.a);
      files.set(name, out);
    } else if (p.cmd === Cmd.SYNC_TRUNCATE_FILE) {
      const h = decodeSyncRangeHead(b.subarray(0, SYNC_RANGE_FIXED));
      const name = b.toString('utf8', SYNC_RANGE_FIXED, SYNC_RANGE_FIXED + h.nameLen);
      files.set(name, (files.get(name) ?? Buffer.alloc(0)).subarray(0, h.b));
    } else if (p.cmd === Cmd.SYNC_RENAME_FILE || p.cmd === Cmd.SYNC_CREATE_LINK) {
      const pair = decodeSyncPair(b);
      const src = files.get(pair.src);
      if (src) files.set(pair.dest, src);
      if (p.cmd === Cmd.SYNC_RENAME_FILE) files.delete(pair.src);
    }
  }
  return files;
}

/** The source's timestamp in a sync request (0 for others). */
function recordTime(cmd: number, b: Buffer): number {
  if (cmd === Cmd.SYNC_CREATE_FILE || cmd === Cmd.SYNC_UPDATE_FILE) return decodeSyncFileHead(b).timestamp;
  if (cmd === Cmd.SYNC_APPEND_FILE || cmd === Cmd.SYNC_MODIFY_FILE || cmd === Cmd.SYNC_TRUNCATE_FILE)
    return decodeSyncRangeHead(b).timestamp;
  if (cmd === Cmd.SYNC_DELETE_FILE) return decodeSyncDelete(b).timestamp;
  if (cmd === Cmd.SYNC_RENAME_FILE || cmd === Cmd.SYNC_CREATE_LINK) return decodeSyncPair(b).timestamp;
  return 0;
}

/** Every file under a store path's data/ (binlogs and state files aside), by logic name. */
async function storedUnder(store: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const data = join(store, 'data');
  for (const rel of (await readdir(data, { recursive: true })) as string[]) {
    if (!/^[0-9A-F]{2}\/[0-9A-F]{2}\/[^/]+$/.test(rel)) continue;
    const full = join(data, rel);
    if ((await stat(full)).isFile()) out.set(`M00/${rel}`, await readFile(full));
  }
  return out;
}

/**
 * Sync statuses a stock receiver answers where ours answers 0: it refuses what it already did
 * (EEXIST for an append or truncate replayed over a newer file, ENOENT for a delete or rename of
 * a file that is gone), which its sender takes as done. README: "Apply, never forward" and the
 * mixed clusters table.
 */
const SYNC_EXPLAINED = new Set([
  'SYNC_APPEND_FILE EEXIST→OK',
  'SYNC_TRUNCATE_FILE EEXIST→OK',
  'SYNC_DELETE_FILE ENOENT→OK',
  'SYNC_RENAME_FILE ENOENT→OK',
]);

describe.each(['plain', 'ids'])('recorded FastDFS 6.16.1 (%s): our storage', (scene) => {
  const rec = loadRecording(scene);

  it.each([
    ['s2', 's1'],
    ['s1', 's2'],
  ])(
    'as %s takes what the stock %s pushed, answers as the stock one did, ends with its files',
    async (role, peer) => {
      const base = await mkdtemp(join(tmpdir(), 'fdfs-interop-st-'));
      cleanups.push(() => rm(base, { recursive: true, force: true }));
      const ids = join(base, 'storage_ids.conf');
      await writeFile(ids, '100001 group1 127.0.0.181\n100002 group1 127.0.0.182\n');
      const t = await startTracker(
        testTrackerConfig(join(base, 't'), {
          bindAddr: '127.0.0.1',
          port: 0,
          useStorageId: scene === 'ids',
          storageIdsFilename: ids,
        }),
        { logger: silentLogger },
      );
      cleanups.push(() => t.close());
      const idOf = (name: string) => (scene === 'ids' ? (name === 's1' ? '100001' : '100002') : undefined);
      const host = faceOf(rec, role) ?? '';
      const { config } = defaultStorageConfig(
        new Map([
          ['base_path', [join(base, 's')]],
          ['bind_addr', [host]],
          ['port', ['0']],
          ['tracker_server', [`127.0.0.1:${t.address.port}`]],
          ['subdir_count_per_path', ['4']],
          ['durable_writes', ['false']],
          ['heart_beat_interval', ['1']],
          ...(scene === 'ids' ? [['server_id', [idOf(role) ?? '']] as [string, string[]]] : []),
        ]),
      );
      const node = await startStorage(config, { logger: silentLogger });
      cleanups.push(() => node.close());
      const peerId = idOf(peer);
      const member = await joinGroupPeer([t.address], 'group1', faceOf(rec, peer) ?? '', {
        subdirCountPerPath: 4,
        ...(peerId ? { storageId: peerId } : {}),
      });
      cleanups.push(() => member.close());
      // A stock peer pushes once the tracker lists ours ACTIVE; by then ours knows its own id.
      await eventually(async () => {
        const me = [...(t.cluster.group('group1')?.storages.values() ?? [])].find((s) => s.ip === host);
        expect(me?.status).toBe(StorageStatus.ACTIVE);
      }, 10_000);
      await sleep(1500);
      const exchanges = await replay(rec, {
        server: role,
        target: node.address,
        include: (c) => c.client === peer,
        from: () => faceOf(rec, peer) ?? '',
      });
      expect(exchanges.some((e) => e.cmd === Cmd.SYNC_CREATE_FILE)).toBe(true);
      const unexplained = exchanges
        .filter((e) => e.expected)
        .map((e) => {
          const stock = statusName(e.expected?.status ?? -1);
          const ours = e.actual ? statusName(e.actual.status) : 'closed';
          const body = e.actual && e.expected && !e.actual.body.equals(e.expected.body) ? ' (body)' : '';
          return stock === ours && !body ? '' : `${cmdName(e.cmd)} ${stock}→${ours}${body}`;
        })
        .filter((d) => d !== '' && !SYNC_EXPLAINED.has(d));
      expect(unexplained).toEqual([]);
      // A stock source sends no watermarks: how far ours holds its files comes from the records,
      // as with FastDFS' receiver, and reaches the tracker in a sync report (89).
      const newest = Math.max(...exchanges.map((e) => recordTime(e.cmd, e.request)));
      await eventually(async () => {
        const me = [...(t.cluster.group('group1')?.storages.values() ?? [])].find((s) => s.ip === host);
        expect(me?.syncedFrom.get(peerId ?? faceOf(rec, peer) ?? '')).toBe(newest);
      }, 10_000);
      const want = expectedFiles(rec, role);
      const got = await storedUnder(join(base, 's'));
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [name, bytes] of want)
        expect(
          got.get(name)?.equals(bytes),
          `${name} ${got.get(name)?.length} ${bytes.length} ${got.get(name)?.findIndex((x, i) => x !== bytes[i])}`,
        ).toBe(true);
    },
  );
});

/**
 * A stock receiver refuses what it already holds: an append or truncate over a file it got whole
 * while copying old data answers EEXIST (recorded: SYNC_APPEND_FILE and SYNC_TRUNCATE_FILE →
 * EEXIST above), and FastDFS' sender takes that as done. A scripted peer answering so, listed
 * ACTIVE by our tracker: our storage must push past it, not retry it forever.
 */
describe('our storage pushing to a stock storage', () => {
  it('takes EEXIST for an append or truncate as done and goes on; a refused watermark costs no record', async () => {
    const refusedByStock = [Cmd.SYNC_APPEND_FILE, Cmd.SYNC_MODIFY_FILE, Cmd.SYNC_TRUNCATE_FILE] as number[];
    const lab = await pushToScriptedPeer(['127.0.0.186', '127.0.0.187'], async (h) =>
      refusedByStock.includes(h.cmd) ? 17 : 0,
    );
    const { client, got } = lab;
    const ap = await client.upload(Buffer.from('first part '), { ext: 'log', appender: true });
    await client.append(ap, Buffer.from('second part'));
    await client.truncate(ap, 5);
    const after = await client.upload(Buffer.from('a later file'), { ext: 'txt' });
    const name = (id: string) => id.slice('group1/'.length);
    // The truncate always meets EEXIST (the append may have gone as the whole file, if the
    // truncate came first); the file uploaded after it must still arrive.
    const refused = `SYNC_TRUNCATE_FILE ${name(ap)} → EEXIST`;
    const later = `SYNC_CREATE_FILE ${name(after)} 12 bytes → OK`;
    await eventually(async () => expect(got).toContain(later), 15_000);
    expect(got.indexOf(refused)).toBeGreaterThanOrEqual(0);
    expect(got.indexOf(refused)).toBeLessThan(got.indexOf(later));
    // The pusher went on over a new connection (no record failed on the closed one) and did not
    // try watermarks again.
    expect(lab.warnings).toEqual([]);
    expect(lab.watermarks()).toBe(1);
  }, 30_000);

  it('sends an appender truncated while its append is on the wire again, whole, without a warning', async () => {
    let truncated!: () => void;
    const truncateDone = new Promise<void>((r) => (truncated = r));
    let appendSeen!: () => void;
    const appendOnWire = new Promise<void>((r) => (appendSeen = r));
    // The peer stops reading once an append's header is in: the sender is mid-body when the
    // file shrinks under it.
    const lab = await pushToScriptedPeer(['127.0.0.188', '127.0.0.189'], async (h) => {
      if (h.cmd === Cmd.SYNC_APPEND_FILE) {
        appendSeen();
        await truncateDone;
      }
      return 0;
    });
    const { client, got } = lab;
    const ap = await client.upload(Buffer.from('head '), { ext: 'log', appender: true });
    // Far more than loopback's socket buffers hold, so most of it is still to be read.
    await client.append(ap, Buffer.alloc(32 * 1024 * 1024, 7));
    await appendOnWire;
    await client.truncate(ap, 3);
    truncated();
    const name = ap.slice('group1/'.length);
    // The truncate's own record follows the whole file.
    await eventually(async () => {
      expect(got).toContain(`SYNC_UPDATE_FILE ${name} 3 bytes → OK`);
      expect(got).toContain(`SYNC_TRUNCATE_FILE ${name} → OK`);
    }, 15_000);
    expect(lab.warnings).toEqual([]);
  }, 30_000);
});

describe('our storage pushing to a peer that refuses a watermark for another reason', () => {
  it('fails the link and tries watermarks again: EACCES (a peer that does not know us yet) is not stock', async () => {
    // The first claim meets EACCES, as from a fastdfs-ts peer just restarted; later ones are taken.
    const lab = await pushToScriptedPeer(
      ['127.0.0.190', '127.0.0.191'],
      async () => 0,
      (n) => (n === 1 ? 13 : 0),
    );
    await eventually(async () => expect(lab.watermarks()).toBeGreaterThanOrEqual(2), 15_000);
    const id = await lab.client.upload(Buffer.from('after the refusal'), { ext: 'txt' });
    await eventually(
      async () => expect(lab.got).toContain(`SYNC_CREATE_FILE ${id.slice('group1/'.length)} 17 bytes → OK`),
      15_000,
    );
    // The refusal was a failed link (warned, retried), not a peer taken for a stock one.
    expect(lab.warnings.filter((w) => w.startsWith('sync push failed'))).toEqual([
      'sync push failed; retrying "FDFS_ERR_EACCES"',
    ]);
  }, 30_000);
});

/**
 * Our storage at `addrs[0]` and a scripted peer at `addrs[1]` that a tracker lists ACTIVE in the
 * same group, so our storage pushes to it. The peer answers each request with `status(h)`, logs
 * it to `got` (`CMD name [size bytes] → STATUS`) and answers the n-th SYNC_WATERMARK with
 * `watermark(n)`: by default, as a stock storage does, EINVAL, and closes. Resolves once the
 * pusher has tried its first watermark.
 */
async function pushToScriptedPeer(
  addrs: [string, string],
  status: (h: { cmd: number; length: number }) => Promise<number>,
  watermark: (n: number) => number = () => 22,
): Promise<{ client: FdfsClient; got: string[]; warnings: string[]; watermarks: () => number }> {
  const [ours, scripted] = addrs;
  const base = await mkdtemp(join(tmpdir(), 'fdfs-interop-push-'));
  cleanups.push(() => rm(base, { recursive: true, force: true }));
  const got: string[] = [];
  let watermarks = 0;
  const warnings: string[] = [];
  const peer = createServer((sock) => {
    const reader = new FrameReader(sock);
    void (async () => {
      for (;;) {
        const h = await reader.readHeader();
        if (!h) return;
        if (h.cmd === Cmd.SYNC_WATERMARK) watermarks++;
        const answer = h.cmd === Cmd.SYNC_WATERMARK ? watermark(watermarks) : await status(h);
        const body = await reader.readExact(h.length);
        if (h.cmd !== Cmd.REPORT_SERVER_ID && h.cmd !== Cmd.ACTIVE_TEST && h.cmd !== Cmd.SYNC_WATERMARK)
          got.push(
            `${cmdName(h.cmd)} ${recordName(h.cmd, body)}${contentSize(h.cmd, body)} → ${statusName(answer)}`,
          );
        sock.write(encodePacket(Cmd.RESP, undefined, answer));
        // A stock storage closes after a command it does not know.
        if (h.cmd === Cmd.SYNC_WATERMARK && answer === 22) sock.end();
      }
    })().catch(() => sock.destroy());
  });
  await new Promise<void>((r) => peer.listen(0, scripted, r));
  cleanups.push(() => new Promise((r) => peer.close(() => r())));
  const t = await startTracker(
    testTrackerConfig(join(base, 't'), { bindAddr: '127.0.0.1', port: 0, storeServer: 1 }),
    { logger: silentLogger },
  );
  cleanups.push(() => t.close());
  const node = await startStorage(
    defaultStorageConfig(
      new Map([
        ['base_path', [join(base, 's')]],
        ['bind_addr', [ours]],
        ['port', ['0']],
        ['tracker_server', [`127.0.0.1:${t.address.port}`]],
        ['subdir_count_per_path', ['4']],
        ['durable_writes', ['false']],
        ['heart_beat_interval', ['1']],
      ]),
    ).config,
    { logger: warnLogger(warnings) },
  );
  cleanups.push(() => node.close());
  // The scripted peer joins as a storage that holds its data, and beats: ACTIVE.
  const link = await Connection.open({
    host: '127.0.0.1',
    port: t.address.port,
    localAddress: scripted,
    connectTimeout: 2000,
    networkTimeout: 60_000,
  });
  cleanups.push(async () => link.close());
  const port = (peer.address() as { port: number }).port;
  await link.call(
    Cmd.STORAGE_JOIN,
    encodeJoin({
      group: 'group1',
      storagePort: port,
      storePathCount: 1,
      subdirCountPerPath: 4,
      uploadPriority: 10,
      joinTime: 1,
      upTime: 1,
      version: '6.16.1',
      initFlag: 0,
      status: StorageStatus.ACTIVE,
      storageId: '',
      currentTrackerIp: '127.0.0.1',
      trackers: [`127.0.0.1:${t.address.port}`],
    }),
  );
  await link.call(Cmd.STORAGE_BEAT);
  await eventually(async () => {
    const active = [...(t.cluster.group('group1')?.storages.values() ?? [])].filter(
      (s) => s.status === StorageStatus.ACTIVE,
    );
    expect(active.map((s) => s.ip).sort()).toEqual([ours, scripted]);
  }, 10_000);
  const client = new FdfsClient(
    defaultClientConfig(new Map([['tracker_server', [`127.0.0.1:${t.address.port}`]]])).config,
  );
  cleanups.push(() => client.close());
  // Our pusher first tries a watermark on its idle link; the stock peer refuses it and closes.
  await eventually(async () => expect(watermarks).toBeGreaterThanOrEqual(1), 15_000);
  return { client, got, warnings, watermarks: () => watermarks };
}

/** Records warn and error lines, message and err code, and drops the rest. */
function warnLogger(lines: string[]): Logger {
  const keep = (msg: string, fields?: LogFields) =>
    lines.push(`${msg} ${JSON.stringify((fields?.err as { code?: unknown } | undefined)?.code ?? '')}`);
  const logger: Logger = { debug() {}, info() {}, warn: keep, error: keep, child: () => logger };
  return logger;
}

/** ` N bytes` for a request that carries a whole file's content, else nothing. */
function contentSize(cmd: number, b: Buffer): string {
  if (cmd !== Cmd.SYNC_CREATE_FILE && cmd !== Cmd.SYNC_UPDATE_FILE) return '';
  return ` ${b.length - SYNC_FILE_FIXED - decodeSyncFileHead(b).nameLen} bytes`;
}

/** The file a sync request is about (the dest of a rename or link). */
function recordName(cmd: number, b: Buffer): string {
  if (cmd === Cmd.SYNC_CREATE_FILE || cmd === Cmd.SYNC_UPDATE_FILE) {
    return b.toString('utf8', SYNC_FILE_FIXED, SYNC_FILE_FIXED + decodeSyncFileHead(b).nameLen);
  }
  if (cmd === Cmd.SYNC_APPEND_FILE || cmd === Cmd.SYNC_MODIFY_FILE || cmd === Cmd.SYNC_TRUNCATE_FILE) {
    return b.toString('utf8', SYNC_RANGE_FIXED, SYNC_RANGE_FIXED + decodeSyncRangeHead(b).nameLen);
  }
  if (cmd === Cmd.SYNC_DELETE_FILE) return decodeSyncDelete(b).name;
  if (cmd === Cmd.SYNC_RENAME_FILE || cmd === Cmd.SYNC_CREATE_LINK) return decodeSyncPair(b).dest;
  return '';
}
