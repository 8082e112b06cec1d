/**
 * One pusher per peer, as FastDFS runs one sync thread per destination: it reads this storage's
 * binlog from the peer's `.mark` position and pushes each record over one connection, advancing
 * the mark only after the peer acknowledged. Source records (upper case) always go; replica
 * records (lower case) only while this storage copies old data to a newcomer (need_sync_old) and
 * only up to its until-timestamp — otherwise every storage would echo every change.
 * A broken link or a peer that is down is retried with backoff from the last mark, so sync
 * resumes where it stopped after a restart of either side.
 */
import { stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '../../client/index.js';
import type { Logger } from '../../common/index.js';
import { Cmd, encodeServerId, StorageStatus } from '../../protocol/index.js';
import { Binlog } from '../binlog.js';
import type { StorageCounters } from '../counters.js';
import type { StorageEngine } from '../engine.js';
import { BinlogReader } from './binlog-reader.js';
import { freshMark, MarkFile, markFileName, type SyncMark } from './mark.js';
import type { PeerInfo } from './peers.js';
import { isSourceRecord } from './record.js';
import { changedWhileSending, RecordSender, SkippedWrites } from './send.js';
import type { TrackerOps } from './tracker-ops.js';
import { PushWindow } from './window.js';

/**
 * A watermark claims "every file I created before T is on you". A file's name carries the time
 * it was named, a moment before its binlog line is written (link, fsync, group commit), so the
 * claim stays this many seconds behind what was actually pushed.
 */
export const WATERMARK_MARGIN_S = 2;
const MARK_SAVE_MS = 1000;
const WATERMARK_EVERY_MS = 1000;

export interface PusherDeps {
  readonly engine: StorageEngine;
  readonly binlog: Binlog;
  readonly counters: StorageCounters;
  readonly logger: Logger;
  readonly syncDir: string;
  readonly myId: string;
  readonly trackers: TrackerOps;
  /** Queues a status report (76) about this peer for every tracker. */
  readonly reportStatus: (peer: PeerInfo, status: number) => void;
}

export class PeerPusher {
  private peer: PeerInfo;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  /** The link's connections: the first carries watermarks, the others only records. */
  private conns: Connection[] = [];
  private wakeUp: (() => void) | undefined;
  private readonly log: Logger;
  readonly markFile: MarkFile;
  /** For status output: the mark in memory and the last failure. */
  mark: SyncMark | undefined;
  lastError: string | undefined;
  /** Cleared for a peer that refuses SYNC_WATERMARK (a FastDFS storage). */
  private watermarks = true;
  /**
   * Set once the peer took a watermark: a fastdfs-ts storage, pushed to over several
   * connections. Until then, as towards a stock FastDFS peer, one record at a time.
   */
  private peerIsOurs = false;
  private readonly skippedWrites = new SkippedWrites();

  constructor(
    private readonly deps: PusherDeps,
    peer: PeerInfo,
  ) {
    this.peer = peer;
    this.log = deps.logger.child({ peer: peer.id });
    this.markFile = new MarkFile(deps.syncDir, markFileName(peer), deps.engine.deps.config.durableWrites);
  }

  get id(): string {
    return this.peer.id;
  }

  get address(): string {
    return `${this.peer.ip}:${this.peer.port}`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /**
   * New tracker view of the peer (every poll, about once a second). A changed address makes the
   * pusher reconnect; any change (the peer came back, its copy state moved) cuts a retry
   * backoff short. An unchanged view leaves the backoff alone, so a peer that is down is not
   * retried (and logged) every second.
   */
  update(peer: PeerInfo): void {
    const prev = this.peer;
    this.peer = peer;
    const same =
      prev.ip === peer.ip &&
      prev.port === peer.port &&
      prev.undecided === peer.undecided &&
      prev.copying === peer.copying &&
      prev.serving === peer.serving;
    if (!same) this.wake();
  }

  wake(): void {
    this.wakeUp?.();
  }

  async stop(removeMark = false): Promise<void> {
    this.abort.abort();
    for (const c of this.conns) c.destroy();
    this.wake();
    await this.loop;
    if (removeMark) await this.markFile.remove();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    const { config } = this.deps.engine.deps;
    let backoff = 100;
    while (!this.stopped) {
      let reader: BinlogReader | undefined;
      try {
        if (this.peer.undecided) {
          await this.idle(config.heartBeatInterval);
          continue;
        }
        const mark = await this.prepareMark();
        this.conns.push(await this.connect());
        this.log.info('sync link up', {
          address: this.address,
          binlogIndex: mark.binlogIndex,
          offset: mark.binlogOffset,
        });
        if (mark.needSyncOld && !mark.syncOldDone && this.peer.copying) {
          this.deps.reportStatus(this.peer, StorageStatus.SYNCING);
        }
        reader = new BinlogReader(
          {
            dir: this.deps.syncDir,
            currentIndex: () => this.deps.binlog.currentIndex,
            onBadLine: (line, at) =>
              this.log.warn('skipping a binlog line that is not a record', {
                line: line.slice(0, 200),
                ...at,
              }),
          },
          { index: mark.binlogIndex, offset: mark.binlogOffset },
        );
        await this.push(reader, mark);
        backoff = 100;
        this.lastError = undefined;
      } catch (err) {
        if (this.stopped) break;
        if (changedWhileSending(err)) {
          this.log.info('file changed while being sent; sending it again', { address: this.address, err });
          continue;
        }
        this.lastError = (err as Error).message;
        this.log.warn('sync push failed; retrying', { address: this.address, backoffMs: backoff, err });
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, Math.max(1000, config.heartBeatInterval));
      } finally {
        for (const c of this.conns) c.close();
        this.conns = [];
        await reader?.close();
      }
    }
  }

  /**
   * Peers admit a push only from the address the trackers list for this storage (peer-guard.ts),
   * so the link leaves from it: bind_addr, else advertise_addr. An advertised address that is
   * not local (NAT) cannot be bound: then, as without either, the system picks the source by
   * its routes, which is also how the trackers saw this storage's address.
   */
  private async connect(): Promise<Connection> {
    const { config } = this.deps.engine.deps;
    const bound = config.bindAddr && config.bindAddr !== '0.0.0.0' ? config.bindAddr : config.advertiseAddr;
    const open = (localAddress: string | undefined) =>
      Connection.open({
        host: this.peer.ip,
        port: this.peer.port,
        connectTimeout: config.connectTimeout,
        networkTimeout: config.networkTimeout,
        ...(localAddress ? { localAddress } : {}),
      });
    let conn: Connection;
    try {
      conn = await open(isIP(bound) ? bound : undefined);
    } catch (err) {
      if (!isIP(bound) || !hasCode(err, 'EADDRNOTAVAIL')) throw err;
      conn = await open(undefined);
    }
    try {
      await conn.call(Cmd.REPORT_SERVER_ID, encodeServerId(this.deps.myId));
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return conn;
  }

  /**
   * The mark to push from. A peer copying old data has an until-timestamp (86); a mark made for
   * another copy (or none) starts over from the beginning of the binlog: the source forwards
   * replica records up to `until`, the others their own records.
   */
  private async prepareMark(): Promise<SyncMark> {
    const loaded = this.mark ?? (await this.markFile.load());
    let mark: SyncMark;
    if (loaded === 'absent') mark = freshMark(false, 0);
    else if (loaded === 'torn') {
      this.log.warn('sync mark unreadable; pushing from the start of the binlog', {
        path: this.markFile.path,
      });
      mark = freshMark(false, 0);
    } else mark = loaded;
    if (this.peer.copying) {
      const src = await this.deps.trackers.syncSource(this.peer.id);
      if (src && src.until !== mark.untilTimestamp) {
        mark = freshMark(src.srcId === this.deps.myId, src.until);
        this.log.info('peer copies old data; pushing from the start', {
          source: src.srcId,
          until: src.until,
          forwardingReplicas: mark.needSyncOld,
        });
      }
    }
    if (!(await this.markFits(mark))) {
      this.log.warn('sync mark is past the end of the binlog; pushing from the start', {
        binlogIndex: mark.binlogIndex,
        offset: mark.binlogOffset,
      });
      mark = { ...mark, binlogIndex: 0, binlogOffset: 0 };
    }
    this.mark = mark;
    await this.markFile.save(mark);
    return mark;
  }

  private async markFits(m: SyncMark): Promise<boolean> {
    if (m.binlogIndex > this.deps.binlog.currentIndex) return false;
    const size = await stat(join(this.deps.syncDir, Binlog.fileName(m.binlogIndex))).then(
      (s) => s.size,
      () => 0,
    );
    return m.binlogOffset <= size;
  }

  /** Connections the link may use now: several to a fastdfs-ts peer, else FastDFS' one. */
  private lanesWanted(): number {
    const { config, trunk } = this.deps.engine.deps;
    // A pause between records asks for one at a time. Trunk slots are reused: a delete and the
    // upload that takes its slot name different files, so they must not pass each other.
    if (!this.peerIsOurs || config.syncInterval > 0 || trunk?.params.useTrunkFile) return 1;
    return config.syncPushConnections;
  }

  /** A window over the link's connections, opening more while the peer may take them. */
  private async window(mark: SyncMark, acked: (sourceTs: number) => void): Promise<PushWindow> {
    const want = this.lanesWanted();
    while (this.conns.length < want && !this.stopped) this.conns.push(await this.connect());
    const { engine, counters } = this.deps;
    const lanes = this.conns.slice(0, want).map((c) => new RecordSender(engine, c, this.skippedWrites));
    if (want > 1)
      this.log.info('sync link pushes over several connections', {
        address: this.address,
        connections: want,
      });
    return new PushWindow(lanes, lanes.length === 1 ? 1 : lanes.length * 4, {
      sent: (_r, res) => {
        if (res.sent) mark.syncRowCount++;
        counters.bytes('SyncOut', res.bytes);
      },
      failed: (record, err) =>
        (changedWhileSending(err) ? this.log.info : this.log.warn).call(this.log, 'sync record failed', {
          op: record.op,
          name: record.name,
          fileId: `${engine.group}/${record.name}`,
          err,
        }),
      acked: (next, sourceTs) => {
        mark.binlogIndex = next.index;
        mark.binlogOffset = next.offset;
        acked(sourceTs);
      },
    });
  }

  private async push(reader: BinlogReader, mark: SyncMark): Promise<void> {
    const { config } = this.deps.engine.deps;
    const address = this.address;
    let lastSave = Date.now();
    let dirty = false;
    let lastSourceTs = 0;
    let claimed = 0;
    let lastClaimAt = 0;
    const acked = (sourceTs: number) => {
      dirty = true;
      if (sourceTs > lastSourceTs) lastSourceTs = sourceTs;
    };
    let window = await this.window(mark, acked);
    try {
      while (!this.stopped && this.address === address) {
        const batch = await reader.read();
        for (const { record, next } of batch) {
          mark.scanRowCount++;
          const source = isSourceRecord(record);
          if (source || (mark.needSyncOld && !mark.syncOldDone && record.ts <= mark.untilTimestamp)) {
            await window.push(record, next, source ? record.ts : 0);
            if (config.syncInterval > 0) {
              await window.drain();
              await sleep(config.syncInterval);
            }
          } else window.skip(next);
          if (this.stopped) break;
        }
        const atEnd = batch.length === 0;
        // A claim, and the end of old data, speak for every record read so far: the records still
        // in flight land first. Nothing else waits for them: at the end of the binlog the window
        // keeps going while the pusher waits for more. (Draining there each time emptied the
        // window every sync_wait_msec, and a peer fell seconds behind a steady 500 uploads/s.)
        const claimable = (atEnd ? Math.floor(Date.now() / 1000) : lastSourceTs) - WATERMARK_MARGIN_S;
        const claimDue =
          this.watermarks && claimable > claimed && (atEnd || Date.now() - lastClaimAt >= WATERMARK_EVERY_MS);
        const oldDataEnds = atEnd && mark.needSyncOld && (!mark.syncOldDone || this.peer.copying);
        if (claimDue || oldDataEnds) await window.drain();
        if (atEnd && mark.needSyncOld && !mark.syncOldDone) {
          mark.syncOldDone = true;
          dirty = true;
          this.log.info('old data copied to peer', { rows: mark.syncRowCount, until: mark.untilTimestamp });
        }
        if (atEnd && mark.needSyncOld && mark.syncOldDone && this.peer.copying) {
          this.deps.reportStatus(this.peer, StorageStatus.ONLINE);
        }
        if (dirty && (atEnd || Date.now() - lastSave >= MARK_SAVE_MS)) {
          await this.markFile.save(mark);
          lastSave = Date.now();
          dirty = false;
        }
        // Taken before the drain: a record appended while it ran was not read, so is not covered.
        const claim = claimable;
        if (claimDue) {
          // The first connection carries the claim; drained above, so no record is on it now.
          this.watermarks = await new RecordSender(this.deps.engine, this.conns[0] as Connection).watermark(
            claim,
          );
          claimed = claim;
          lastClaimAt = Date.now();
          if (!this.watermarks) {
            // A FastDFS storage closes the connection after a command it does not know: go on over
            // a new one rather than fail the next record on this one.
            this.log.info('peer does not take sync watermarks', { address });
            this.peerIsOurs = false;
            break;
          }
          if (!this.peerIsOurs) {
            this.peerIsOurs = true;
            if (this.lanesWanted() > window.width) window = await this.window(mark, acked);
          }
        }
        if (atEnd) await this.idle(config.syncWaitMsec);
      }
    } finally {
      // Whatever is still in flight lands (or fails) before the mark is written for good.
      await window.drain().catch(() => {});
      if (dirty) await this.markFile.save(mark);
    }
  }
}

function hasCode(err: unknown, code: string): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === code) return true;
  }
  return false;
}
