/**
 * The trunk server keeps every storage of its group holding a copy of its trunk binlog
 * (trunk_sync.c), so whichever takes the role next starts from the same free list. One pusher
 * per peer: from the offset in `data/trunk/<peer>.mark` it sends whole lines (30); a peer
 * starting from 0 is first told to empty its copy (33).
 *
 * Beyond FastDFS, a slot confirmed for an answered upload is in every reachable peer's copy
 * before the answer (reach()): the peer that takes the role after a crash then never hands out
 * a slot an answered file holds. FastDFS pushes behind the answers, and a successor that took
 * over within that lag gave such slots out again (chaos --trunk found it). A peer that is down
 * is not waited for, nor one slower than WAIT_MS until it has caught up again.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '../../client/index.js';
import { FdfsError, type Logger, Status, syncDir, writeFileAtomic } from '../../common/index.js';
import type { StorageConfig } from '../../config/types.js';
import { Cmd } from '../../protocol/index.js';
import type { TrunkBinlog } from './binlog.js';

export interface TrunkPeer {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
}

/** Lines sent per request (FastDFS reads its binlog 64 KB at a time). */
const MAX_SEND = 64 * 1024;
const IDLE_MS = 200;
/**
 * Reconnects to a peer that went away after 100 ms, doubling up to 2 s: a peer back from a
 * restart is caught up, and waited for again, within a fraction of a second (until then it
 * cannot vouch for its copy, vouch.ts).
 */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 2000;
/** How long an upload waits for a connected peer to hold its slot before giving up on that peer. */
const WAIT_MS = 3000;

interface Waiter {
  readonly target: number;
  readonly resolve: () => void;
}

/**
 * Removes every peer's mark in `dir`: each peer is then told to empty its copy and sent the
 * whole binlog. Needed wherever the marks may not fit this binlog any more: after a compression,
 * and when this storage takes the role (a mark from its last time as trunk server counts bytes
 * of a binlog it has since replaced with the next trunk server's; resumed there, the peer's copy
 * would be spliced from two binlogs, as FastDFS' trackers prevent with cmd 32).
 */
export async function removeMarks(dir: string, durable: boolean): Promise<void> {
  const marks = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.mark'));
  for (const name of marks)
    await unlink(join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  if (durable && marks.length > 0) await syncDir(dir);
}

export function trunkMarkName(peer: TrunkPeer): string {
  const name = peer.id !== peer.ip ? peer.id : `${peer.ip}_${peer.port}`;
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.mark`;
}

async function readMark(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const m = /^binlog_offset=(\d{1,15})$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

export class TrunkBinlogPusher {
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  /** How far the peer holds the binlog (tests and monitoring). */
  offset = 0;
  /** Its last connection failed: not waited for until a new one is up. */
  private down = false;
  /** Did not keep up within WAIT_MS: not waited for until it holds the whole binlog again. */
  private lagging = false;
  private waiters: Waiter[] = [];
  /** Ends the idle wait early: somebody waits for records written since. */
  private wake: (() => void) | undefined;
  /** reach() came while no idle wait was on: the next one is skipped. */
  private kicked = false;
  private readonly log: Logger;

  constructor(
    readonly peer: TrunkPeer,
    private readonly deps: {
      readonly binlog: TrunkBinlog;
      readonly dir: string;
      readonly config: StorageConfig;
      readonly logger: Logger;
    },
  ) {
    this.log = deps.logger.child({ peer: `${peer.ip}:${peer.port}`, part: 'trunk-sync' });
    this.done = this.run();
  }

  /**
   * Resolves once the peer holds the binlog up to byte `target`, or at once when the peer is
   * not waited for (down, lagging); after WAIT_MS the peer is marked lagging and let go.
   */
  reach(target: number): Promise<void> {
    if (this.stopped || this.down || this.lagging || this.offset >= target) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (!this.lagging)
          this.log.warn('trunk peer slow to take the binlog: answers no longer wait for it', {
            offset: this.offset,
            target,
          });
        this.lagging = true;
        this.release(Number.POSITIVE_INFINITY);
      }, WAIT_MS);
      this.waiters.push({
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.kicked = true;
      this.wake?.();
    });
  }

  /** Lets go the waiters for bytes up to `upTo`. */
  private release(upTo: number): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.target <= upTo) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  /** IDLE_MS, or less when reach() or stop() wakes it. */
  private idle(): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.kicked = false;
        resolve();
      };
      const timer = setTimeout(done, IDLE_MS);
      this.wake = done;
    });
  }

  private get markPath(): string {
    return join(this.deps.dir, trunkMarkName(this.peer));
  }

  private async run(): Promise<void> {
    const log = this.log;
    let retry = RETRY_MIN_MS;
    while (!this.stopped) {
      let conn: Connection | undefined;
      try {
        const c = this.deps.config;
        conn = await Connection.open({
          host: this.peer.ip,
          port: this.peer.port,
          connectTimeout: c.connectTimeout,
          networkTimeout: c.networkTimeout,
          ...(c.bindAddr && c.bindAddr !== '0.0.0.0' ? { localAddress: c.bindAddr } : {}),
        });
        this.offset = await readMark(this.markPath);
        if (this.offset > this.deps.binlog.size) this.offset = 0;
        if (this.offset === 0) await conn.call(Cmd.TRUNK_TRUNCATE_BINLOG_FILE);
        this.down = false;
        retry = RETRY_MIN_MS;
        let told = false;
        while (!this.stopped) {
          const buf = await this.deps.binlog.readChunk(this.offset, MAX_SEND);
          const end = buf.lastIndexOf(0x0a) + 1;
          if (end === 0) {
            this.lagging = false;
            if (!told) await this.tellCaughtUp(conn);
            told = true;
            await this.idle();
            continue;
          }
          await conn.call(Cmd.TRUNK_SYNC_BINLOG, buf.subarray(0, end));
          this.offset += end;
          this.release(this.offset);
          await writeFileAtomic(this.markPath, `binlog_offset=${this.offset}\n`, false);
        }
      } catch (err) {
        this.down = true;
        this.release(Number.POSITIVE_INFINITY);
        if (!this.stopped && retry === RETRY_MIN_MS) log.warn('trunk binlog push failed; retrying', { err });
        await sleep(retry, undefined, { signal: this.abort.signal }).catch(() => {});
        retry = Math.min(retry * 2, RETRY_MAX_MS);
      } finally {
        conn?.close();
      }
    }
    this.release(Number.POSITIVE_INFINITY);
  }

  /**
   * An empty push (30) once the peer holds the whole binlog on this connection: our storages
   * note their copy is one they can take the role from (store.ts). A stock storage answers
   * EINVAL (and logs it): nothing else changes.
   */
  private async tellCaughtUp(conn: Connection): Promise<void> {
    await conn.call(Cmd.TRUNK_SYNC_BINLOG, Buffer.alloc(0)).catch((err: unknown) => {
      if (!(err instanceof FdfsError && err.status === Status.EINVAL)) throw err;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.done;
  }
}

/** A trunk server's pushers, one per peer (by id), kept to the group's current list. */
export class TrunkPushers {
  private readonly pushers = new Map<string, TrunkBinlogPusher>();

  constructor(private readonly deps: ConstructorParameters<typeof TrunkBinlogPusher>[1]) {}

  /** Runs a pusher to each of `peers` and stops the others (a moved peer gets a new one). */
  async set(peers: readonly TrunkPeer[]): Promise<void> {
    const wanted = new Map(peers.map((p) => [p.id, p]));
    for (const [id, pusher] of this.pushers) {
      const p = wanted.get(id);
      if (p && p.ip === pusher.peer.ip && p.port === pusher.peer.port) continue;
      this.pushers.delete(id);
      await pusher.stop();
    }
    for (const p of wanted.values()) {
      if (!this.pushers.has(p.id)) this.pushers.set(p.id, new TrunkBinlogPusher(p, this.deps));
    }
  }

  /** True while there is a peer to push to. */
  get any(): boolean {
    return this.pushers.size > 0;
  }

  /** Every peer waited for holds the binlog up to byte `target` (TrunkBinlogPusher.reach). */
  async reach(target: number): Promise<void> {
    await Promise.all([...this.pushers.values()].map((p) => p.reach(target)));
  }

  offsets(): { id: string; offset: number }[] {
    return [...this.pushers.values()].map((p) => ({ id: p.peer.id, offset: p.offset }));
  }

  /** Every peer gets the whole binlog again (its mark goes). */
  async forgetMarks(): Promise<void> {
    for (const p of this.pushers.values())
      await unlink(join(this.deps.dir, trunkMarkName(p.peer))).catch(() => {});
  }
}
