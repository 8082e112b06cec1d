/**
 * What a stock FastDFS storage and tracker need from our tracker beyond join and beat: leader
 * election (64/66/67/68/58/65/95, relationship.ts), the leader's change-log replies that tell a
 * stock storage its group's servers, and the storage commands 60/70/71/79/85/59/88-empty/76.
 * Model tests drive Relationship with scripted channels; service tests speak the wire to real
 * trackers on 127.0.0.x.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, ConnectionPool, TrackerClient } from '../src/client/index.js';
import { FdfsError, silentLogger } from '../src/common/index.js';
import {
  BodyReader,
  ChangeFlag,
  Cmd,
  decodeChangeLog,
  decodeJoinReply,
  decodeSyncSource,
  decodeTrackerStatus,
  encodeGetMyIp,
  encodeJoin,
  encodeStatusReport,
  encodeTrackerStatus,
  readBrief,
  STORAGE_BRIEF_SIZE,
  StorageStatus,
} from '../src/protocol/index.js';
import {
  compareTrackers,
  parseTrackerLine,
  Relationship,
  startTracker,
  type TrackerChannel,
  type TrackerHandle,
} from '../src/tracker/index.js';
import { testTrackerConfig } from './helpers/fixtures.js';

/**
 * A scripted tracker: answers each command with a body or a status, and records what it got.
 * While `up()` is false its channels fail, as a dead peer's would.
 */
function scripted(
  answers: Partial<Record<number, Buffer | number>>,
  log: string[],
  name: string,
  up: () => boolean = () => true,
) {
  return (): Promise<TrackerChannel> =>
    Promise.resolve({
      get usable() {
        return up();
      },
      close() {},
      async call(cmd: number, body?: Buffer) {
        if (!up()) throw new FdfsError(104, `${name} is down`);
        log.push(`${name} ${cmd}${body && body.length > 0 ? ` ${body.toString('latin1')}` : ''}`);
        const a = answers[cmd];
        if (typeof a === 'number') throw new FdfsError(a, `scripted status ${a}`);
        return a ?? Buffer.alloc(0);
      },
    });
}

function rel(
  peers: Record<string, (() => Promise<TrackerChannel>) | undefined>,
  opts: { port?: number; now?: () => number } = {},
) {
  const r = new Relationship({
    port: () => opts.port ?? 22122,
    logger: silentLogger,
    now: opts.now ?? (() => 1_000_000),
    hasGroups: () => true,
    version: '6.16',
    connect: (ip, port) => {
      const p = peers[`${ip}:${port}`];
      return p ? p() : Promise.reject(new Error(`connect ${ip}:${port} refused`));
    },
  });
  return r;
}

describe('leader election (relationship.ts)', () => {
  it('ranks as FastDFS: a leader, then running time, then short restarts, then the highest address', () => {
    const st = (ifLeader: boolean, runningTime: number, restartInterval = 0) => ({
      ifLeader,
      runningTime,
      restartInterval,
    });
    const at = (ip: string) => ({ ips: [ip], port: 22122 });
    const best = (...xs: Parameters<typeof compareTrackers>[0][]) =>
      [...xs].sort(compareTrackers).at(-1)?.addr.ips[0];
    expect(
      best({ addr: at('10.0.0.9'), status: st(false, 600) }, { addr: at('10.0.0.1'), status: st(true, 0) }),
    ).toBe('10.0.0.1');
    expect(
      best(
        { addr: at('10.0.0.9'), status: st(false, 300) },
        { addr: at('10.0.0.1'), status: st(false, 600) },
      ),
    ).toBe('10.0.0.1');
    expect(
      best(
        { addr: at('10.0.0.9'), status: st(false, 0, 600) },
        { addr: at('10.0.0.1'), status: st(false, 0, 300) },
      ),
    ).toBe('10.0.0.1');
    expect(
      best({ addr: at('10.0.0.1'), status: st(false, 0) }, { addr: at('10.0.0.2'), status: st(false, 0) }),
    ).toBe('10.0.0.2');
  });

  it('reads join tracker lines, multi-address ones too; other lines are not trackers', () => {
    expect(parseTrackerLine('10.0.0.1:22122')).toEqual({ ips: ['10.0.0.1'], port: 22122 });
    expect(parseTrackerLine('10.0.0.1,192.168.0.1:22122')).toEqual({
      ips: ['10.0.0.1', '192.168.0.1'],
      port: 22122,
    });
    expect(parseTrackerLine('[::1]:22122')).toEqual({ ips: ['::1'], port: 22122 });
    expect(parseTrackerLine('advertise=10.0.0.5')).toBeUndefined();
    expect(parseTrackerLine('10.0.0.1:99999')).toBeUndefined();
  });

  it('a lone tracker elects itself once a storage named it; running time is in 5-minute steps', async () => {
    let now = 1_000_000;
    const r = rel({}, { now: () => now });
    await r.tick();
    expect(r.leader).toBeUndefined(); // no tracker list yet
    r.localIps.add('10.0.0.1');
    r.addTrackers(['10.0.0.1:22122']);
    now += 299_000;
    expect(r.status()).toEqual({ ifLeader: false, runningTime: 0, restartInterval: 0 });
    await r.tick();
    expect([r.leaderSelf, r.leaderText(), r.leaderChanges]).toEqual([true, '10.0.0.1:22122', 1]);
    now += 2000;
    expect(r.status()).toEqual({ ifLeader: true, runningTime: 300, restartInterval: 0 });
  });

  it('the winner notifies (66) then commits (67) every tracker; a loser adopts a leading winner', async () => {
    const log: string[] = [];
    const other = scripted(
      {
        [Cmd.TRACKER_GET_STATUS]: encodeTrackerStatus({
          ifLeader: false,
          runningTime: 0,
          restartInterval: 0,
        }),
      },
      log,
      'b',
    );
    const down = () => Promise.reject(new Error('refused'));
    const a = rel({ '10.0.0.2:22122': other, '10.0.0.3:22122': down });
    a.localIps.add('10.0.0.9');
    a.addTrackers(['10.0.0.2:22122', '10.0.0.9:22122', '10.0.0.3:22122']);
    await a.tick();
    expect(a.leaderSelf).toBe(true);
    expect(log).toEqual(['b 64', 'b 66 10.0.0.9:22122', 'b 67 10.0.0.9:22122']);

    const leading = scripted(
      {
        [Cmd.TRACKER_GET_STATUS]: encodeTrackerStatus({ ifLeader: true, runningTime: 0, restartInterval: 0 }),
      },
      log,
      'c',
    );
    const b = rel({ '10.0.0.1:22122': leading });
    b.localIps.add('10.0.0.9');
    b.addTrackers(['10.0.0.1:22122', '10.0.0.9:22122']);
    await b.tick();
    expect([b.leaderSelf, b.leaderText()]).toEqual([false, '10.0.0.1:22122']);
  });

  it('a refused notice aborts the election; a loser waits for the winner that does not lead yet', async () => {
    const log: string[] = [];
    const refusing = scripted(
      {
        [Cmd.TRACKER_GET_STATUS]: Buffer.from(
          encodeTrackerStatus({ ifLeader: false, runningTime: 0, restartInterval: 0 }),
        ),
        [Cmd.TRACKER_NOTIFY_NEXT_LEADER]: 22,
      },
      log,
      'b',
    );
    const a = rel({ '10.0.0.2:22122': refusing });
    a.localIps.add('10.0.0.9');
    a.addTrackers(['10.0.0.2:22122', '10.0.0.9:22122']);
    expect(await a.tick()).toBe(false);
    expect(a.leader).toBeUndefined();
    expect(log).not.toContain('b 67 10.0.0.9:22122');

    const higher = scripted(
      {
        [Cmd.TRACKER_GET_STATUS]: encodeTrackerStatus({
          ifLeader: false,
          runningTime: 0,
          restartInterval: 0,
        }),
      },
      log,
      'c',
    );
    const b = rel({ '10.0.0.9:22122': higher });
    b.localIps.add('10.0.0.2');
    b.addTrackers(['10.0.0.2:22122', '10.0.0.9:22122']);
    expect(await b.tick()).toBe(false);
    expect(b.leader).toBeUndefined();
    // The winner's notice and commit make it leader here.
    b.notifyNext(Buffer.from('10.0.0.9:22122'));
    b.commitNext(Buffer.from('10.0.0.9:22122'));
    expect([b.leaderSelf, b.leaderText()]).toEqual([false, '10.0.0.9:22122']);
  });

  it('notices: unknown tracker ENOENT, commit without notice EINVAL, a leader told of another steps down', async () => {
    const a = rel({});
    a.localIps.add('10.0.0.1');
    a.addTrackers(['10.0.0.1:22122', '10.0.0.2:22122']);
    expect(() => a.notifyNext(Buffer.from('10.0.0.7:22122'))).toThrow(expect.objectContaining({ status: 2 }));
    expect(() => a.notifyNext(Buffer.from('junk'))).toThrow(expect.objectContaining({ status: 22 }));
    expect(() => a.commitNext(Buffer.from('10.0.0.2:22122'))).toThrow(
      expect.objectContaining({ status: 22 }),
    );
    expect(() => a.reselect()).toThrow(expect.objectContaining({ status: 95 }));
    a.notifyNext(Buffer.from('10.0.0.1:22122'));
    a.commitNext(Buffer.from('10.0.0.1:22122'));
    expect(a.leaderSelf).toBe(true);
    expect(() => a.notifyNext(Buffer.from('10.0.0.2:22122'))).toThrow(
      expect.objectContaining({ status: 22 }),
    );
    expect([a.leaderSelf, a.leader, a.leaderChanges]).toEqual([false, undefined, 2]);
    a.notifyNext(Buffer.from('10.0.0.1:22122'));
    a.commitNext(Buffer.from('10.0.0.1:22122'));
    a.reselect();
    expect(a.leaderSelf).toBe(false);
  });

  it('a follower joins (58) and pings (65) its leader; three failed pings and it elects again', async () => {
    const log: string[] = [];
    let up = true;
    const open = scripted(
      {
        [Cmd.TRACKER_GET_STATUS]: encodeTrackerStatus({ ifLeader: true, runningTime: 0, restartInterval: 0 }),
      },
      log,
      'L',
      () => up,
    );
    const leader = () => (up ? open() : Promise.reject(new Error('down')));
    const f = rel({ '10.0.0.1:22122': leader });
    f.localIps.add('10.0.0.2');
    f.addTrackers(['10.0.0.1:22122', '10.0.0.2:22122']);
    await f.tick();
    await f.tick();
    await f.tick();
    expect(log.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['L 64', 'L 58', 'L 65', 'L 65']);
    up = false;
    await f.tick();
    await f.tick();
    expect(f.leaderText()).toBe('10.0.0.1:22122');
    await f.tick();
    expect(f.leader).toBeUndefined();
    await f.tick(); // the old leader is unreachable: this tracker is the best left
    expect(f.leaderSelf).toBe(true);
  });
});

describe('tracker service: what stock storages and trackers ask', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function start(host: string): Promise<TrackerHandle> {
    const base = await mkdtemp(join(tmpdir(), 'fdfs-tleader-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const t = await startTracker(
      testTrackerConfig(base, { bindAddr: host, port: 0, connectTimeout: 1000, networkTimeout: 5000 }),
      { logger: silentLogger },
    );
    cleanups.push(() => t.close());
    return t;
  }

  async function link(t: TrackerHandle, from: string): Promise<Connection> {
    const c = await Connection.open({
      host: t.address.host,
      port: t.address.port,
      connectTimeout: 2000,
      networkTimeout: 5000,
      localAddress: from,
    });
    cleanups.push(async () => c.close());
    return c;
  }

  function joinAs(c: Connection, trackers: string[], initFlag = 1) {
    return c
      .call(
        Cmd.STORAGE_JOIN,
        encodeJoin({
          group: 'group1',
          storagePort: 23000,
          storePathCount: 1,
          subdirCountPerPath: 256,
          uploadPriority: 10,
          joinTime: 1_700_000_000,
          upTime: 1_700_000_000,
          version: '6.16.1',
          initFlag,
          status: 0,
          storageId: '',
          currentTrackerIp: c.opts.host,
          trackers,
        }),
      )
      .then(decodeJoinReply);
  }

  async function until<T>(f: () => Promise<T> | T, ok: (v: T) => boolean, ms = 8000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (ok(v) || Date.now() > end) return v;
      await sleep(100);
    }
  }

  const leaderOf = (c: Connection) =>
    c.call(Cmd.SERVER_GET_LEADER).then(
      (b) => b.toString(),
      (e: FdfsError) => `status ${e.status}`,
    );

  it('a stock storage: its ip (60), join, no source (87, 88 empty), change logs from the leader', async () => {
    const t = await start('127.0.0.2');
    const me = `127.0.0.2:${t.address.port}`;
    const a = await link(t, '127.0.0.5');
    expect((await a.call(Cmd.STORAGE_GET_MY_IP, encodeGetMyIp('group1', 23000))).toString()).toBe(
      '127.0.0.5',
    );
    await expect(a.call(Cmd.TRACKER_GET_STATUS)).rejects.toMatchObject({ status: 2 }); // no group yet
    expect(await joinAs(a, [me])).toEqual({ status: StorageStatus.ONLINE, srcId: '' });
    expect(await a.call(Cmd.STORAGE_SYNC_DEST_REQ)).toHaveLength(0);
    expect(await a.call(Cmd.STORAGE_SYNC_NOTIFY, Buffer.alloc(24))).toHaveLength(0);
    expect(
      await until(
        () => leaderOf(a),
        (l) => l === me,
      ),
    ).toBe(me);
    expect(decodeTrackerStatus(await a.call(Cmd.TRACKER_GET_STATUS)).ifLeader).toBe(true);
    // First report on the link: who leads and the group's servers; then nothing until a change.
    const first = decodeChangeLog(await a.call(Cmd.STORAGE_BEAT));
    expect(first.leader).toEqual({ status: 0, port: t.address.port, id: '127.0.0.2', ip: '127.0.0.2' });
    expect(first.servers).toEqual([
      { status: StorageStatus.ACTIVE, port: 23000, id: '127.0.0.5', ip: '127.0.0.5' },
    ]);
    expect(await a.call(Cmd.STORAGE_BEAT)).toEqual(Buffer.from([0]));
    const b = await link(t, '127.0.0.6');
    expect((await joinAs(b, [me])).status).toBe(StorageStatus.INIT);
    const src = decodeSyncSource(await b.call(Cmd.STORAGE_SYNC_DEST_REQ));
    expect(src?.srcId).toBe('127.0.0.5');
    const changed = await a.call(Cmd.STORAGE_REPORT_DISK_USAGE, Buffer.alloc(16));
    expect(changed[0]).toBe(ChangeFlag.GROUP_SERVER);
    expect(decodeChangeLog(changed).servers?.map((s) => [s.id, s.status])).toEqual([
      ['127.0.0.5', StorageStatus.ACTIVE],
      ['127.0.0.6', StorageStatus.WAIT_SYNC],
    ]);
    // 79 after a restart: the source it copies from; 71 and 70 by address.
    expect(decodeSyncSource(await b.call(Cmd.STORAGE_SYNC_DEST_QUERY))).toEqual(src);
    const q = Buffer.concat([Buffer.from('group1'.padEnd(16, '\0')), Buffer.from('127.0.0.6:23000')]);
    const brief = readBrief(new BodyReader(await a.call(Cmd.STORAGE_GET_STATUS, q)));
    expect([brief.id, brief.status]).toEqual(['127.0.0.6', StorageStatus.WAIT_SYNC]);
    expect((await a.call(Cmd.STORAGE_GET_SERVER_ID, q)).toString()).toBe('127.0.0.6');
    // A stock source reports on a connection that never joined, and says OFFLINE when done.
    const side = await link(t, '127.0.0.5');
    const report = { group: 'group1', port: 23000, id: '127.0.0.6', ip: '127.0.0.6' };
    await side.call(
      Cmd.STORAGE_REPORT_STATUS,
      encodeStatusReport({ ...report, status: StorageStatus.SYNCING }),
    );
    await side.call(
      Cmd.STORAGE_REPORT_STATUS,
      encodeStatusReport({ ...report, status: StorageStatus.OFFLINE }),
    );
    await b.call(Cmd.STORAGE_BEAT);
    const view = decodeChangeLog(await a.call(Cmd.STORAGE_BEAT));
    expect(view.servers?.map((s) => s.status)).toEqual([StorageStatus.ACTIVE, StorageStatus.ACTIVE]);
    // 85 (its view differs) is taken and ignored; 59 moves a non-available status only.
    await a.call(Cmd.STORAGE_REPLICA_CHG, Buffer.alloc(STORAGE_BRIEF_SIZE));
    const statusOfB = async () => readBrief(new BodyReader(await a.call(Cmd.STORAGE_GET_STATUS, q))).status;
    await b.call(Cmd.STORAGE_CHANGE_STATUS, Buffer.from([StorageStatus.ONLINE]));
    expect(await statusOfB()).toBe(StorageStatus.ACTIVE);
    await b.call(Cmd.STORAGE_CHANGE_STATUS, Buffer.from([StorageStatus.WAIT_SYNC]));
    expect(await statusOfB()).toBe(StorageStatus.WAIT_SYNC);
    expect(decodeChangeLog(await a.call(Cmd.STORAGE_BEAT)).servers?.[1]?.status).toBe(
      StorageStatus.WAIT_SYNC,
    );
  });

  it('two trackers elect one leader; only it fills change logs; the follower takes over when it dies', async () => {
    const t1 = await start('127.0.0.2');
    const t2 = await start('127.0.0.3');
    const lines = [`127.0.0.2:${t1.address.port}`, `127.0.0.3:${t2.address.port}`];
    const s1 = await link(t1, '127.0.0.5');
    const s2 = await link(t2, '127.0.0.5');
    await joinAs(s1, lines, 0);
    await joinAs(s2, lines, 0);
    // Equal running times: the higher address wins, on both.
    const winner = lines[1] as string;
    expect(
      await until(
        () => leaderOf(s1),
        (l) => l === winner,
      ),
    ).toBe(winner);
    expect(
      await until(
        () => leaderOf(s2),
        (l) => l === winner,
      ),
    ).toBe(winner);
    expect(await s1.call(Cmd.STORAGE_BEAT)).toEqual(Buffer.from([0]));
    expect(decodeChangeLog(await s2.call(Cmd.STORAGE_BEAT)).leader?.ip).toBe('127.0.0.3');
    // What `fdfs monitor` prints as "tracker leader is": the same answer from either tracker.
    const pool = new ConnectionPool({ connectTimeout: 2000, networkTimeout: 5000, maxIdleTime: 60_000 });
    cleanups.push(async () => pool.close());
    const ask = (t: TrackerHandle) =>
      new TrackerClient({ trackers: [{ host: t.address.host, port: t.address.port }], pool }).leader();
    expect([await ask(t1), await ask(t2)]).toEqual([winner, winner]);
    await t2.close();
    expect(
      await until(
        () => leaderOf(s1),
        (l) => l === lines[0],
        20_000,
      ),
    ).toBe(lines[0]);
    expect(decodeChangeLog(await s1.call(Cmd.STORAGE_BEAT)).leader?.ip).toBe('127.0.0.2');
    expect(await ask(t1)).toBe(lines[0]);
  }, 30_000);
});
