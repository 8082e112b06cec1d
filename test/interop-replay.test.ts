/**
 * Issue 12: what stock FastDFS 6.16.1 daemons sent each other, recorded once with the real
 * daemons (test/interop/record.sh → test/data/interop/*.json), replayed here against ours by
 * scripted raw-TCP peers, so CI needs no FastDFS. Each request a recorded daemon got is sent to
 * ours from the address its sender had, in the recorded order; our answer must be the stock
 * daemon's, or differ only as the README's compatibility notes explain (EXPLAINED below).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/common/index.js';
import { Cmd } from '../src/protocol/index.js';
import { startTracker, type TrackerHandle } from '../src/tracker/index.js';
import { testTrackerConfig } from './helpers/fixtures.js';
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
    why: 'compatibility notes: a storage alone in its group that needs data is ONLINE at join (stock: INIT until its 87 finds no source)',
  },
  {
    key: /^75 storage_ip_changed_auto_adjust$/,
    why: 'compatibility notes: no storage IP-change tracking, so 0 (storages then send no 77)',
  },
  {
    key: /^75 store_slave_file_use_link$/,
    why: 'compatibility notes: slave files are always stored as files (store_slave_file_use_link is not used)',
  },
  {
    key: /^69 lines$/,
    why: 'compatibility notes: a storage_ids.conf entry without a port matches any port and is listed without one (6.16 takes 23000)',
  },
  {
    key: /^75 (slot_\w+|trunk_\w+)$/,
    why: 'compatibility notes: trunk files are not used here, their parameters are defaults, not tracker.conf',
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
