/**
 * What the trunk server does beside handing out space: it pushes its binlog to every peer
 * (sync.ts), makes trunk files ahead of need and compresses its binlog on FastDFS' schedule
 * (trunk_create_file_*, trunk_compress_binlog_*). Armed while this storage has the role.
 */
import { join } from 'node:path';
import type { Logger } from '../../common/index.js';
import type { StorageConfig, TrunkConfig } from '../../config/types.js';
import type { StorePaths } from '../store-paths.js';
import type { TrunkBinlog } from './binlog.js';
import { compactTrunkBinlog } from './compact.js';
import { ScheduledTask } from './schedule.js';
import type { TrunkServer } from './server.js';
import { trunkDataPath } from './state.js';
import type { FlagKeys } from './store.js';
import { type TrunkPeer, TrunkPushers } from './sync.js';

export interface UpkeepDeps {
  readonly config: StorageConfig;
  readonly paths: StorePaths;
  readonly binlog: TrunkBinlog;
  readonly logger: Logger;
  /** The trunk keys in force (the tracker's, cmd 75). */
  readonly params: () => TrunkConfig;
  /** The role while this storage has it and is not closing. */
  readonly server: () => TrunkServer | undefined;
  /** Runs `task` in line with role changes, so a compression never meets a load or save of the list. */
  readonly inLine: (task: () => Promise<void>) => Promise<void>;
  /** `.data_init_flag`: trunk_last_compress_time lives there, as in FastDFS. */
  readonly flag: () => FlagKeys;
  readonly now?: () => number;
}

/** The key of `.data_init_flag` FastDFS keeps the last compression's time in (unix seconds). */
export const LAST_COMPRESS_KEY = 'trunk_last_compress_time';
/** FastDFS compresses at a save only once the storage has run this long (storage_trunk_destroy_ex). */
const SAVE_COMPRESS_UPTIME_MS = 3600_000;

export class TrunkUpkeep {
  /** The trunk server's pushers of its binlog, one per peer. */
  private readonly pushers: TrunkPushers;
  private readonly ahead: ScheduledTask;
  private readonly compressor: ScheduledTask;
  /** The peers to push to; held back while the binlog is compressed. */
  private peers: readonly TrunkPeer[] = [];
  /** The compression under way, if any (its pushers stopped until it ends). */
  private compaction: Promise<unknown> | undefined;
  /** The binlog's size after the last compression: unchanged since, there is nothing to do. */
  private compactedAt = -1;
  private readonly now: () => number;
  private readonly startedAt: number;

  constructor(private readonly deps: UpkeepDeps) {
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
    this.pushers = new TrunkPushers({
      binlog: deps.binlog,
      dir: join(deps.config.basePath, 'data', 'trunk'),
      config: deps.config,
      logger: deps.logger,
    });
    this.ahead = new ScheduledTask({
      name: 'trunk files ahead of need',
      when: () => {
        const p = deps.params();
        return p.useTrunkFile && p.trunkCreateFileAdvance
          ? { timeBase: p.trunkCreateFileTimeBase, intervalMs: p.trunkCreateFileInterval }
          : undefined;
      },
      run: () => this.createAhead(),
      logger: deps.logger,
    });
    this.compressor = new ScheduledTask({
      name: 'trunk binlog compression',
      when: () => {
        const p = deps.params();
        return p.useTrunkFile && p.trunkCompressBinlogInterval > 0
          ? { timeBase: p.trunkCompressBinlogTimeBase, intervalMs: p.trunkCompressBinlogInterval * 1000 }
          : undefined;
      },
      run: () =>
        deps.inLine(async () => {
          const server = deps.server();
          if (server) await this.compress(server);
        }),
      logger: deps.logger,
    });
  }

  /** Runs of trunk_create_file_advance's schedule so far (monitoring, tests). */
  get aheadRuns(): number {
    return this.ahead.runs;
  }

  /** Runs of trunk_compress_binlog's schedule so far (monitoring, tests). */
  get compressRuns(): number {
    return this.compressor.runs;
  }

  /** The role was taken, or the keys changed: the schedules as the keys say. */
  arm(): void {
    this.ahead.arm();
    this.compressor.arm();
  }

  /** The role went. A run under way is not waited for: it may be queued behind this change. */
  disarm(): void {
    this.ahead.stop();
    this.compressor.stop();
  }

  /** Pushes the binlog to `peers` while this storage is the trunk server; to none otherwise. */
  async pushTo(peers: readonly TrunkPeer[]): Promise<void> {
    this.peers = peers;
    if (this.compaction) return; // the compression starts them once the new binlog is in place
    await this.pushers.set(this.deps.server() ? peers : []);
  }

  /** True while this trunk server has peers that keep copies of its binlog it waits for. */
  get replicating(): boolean {
    // durable_writes = false gives FastDFS' behaviour back here too: the binlog is pushed behind
    // the answers (a failover may then hand out slots of the last answered files, as FastDFS').
    return this.deps.config.durableWrites && this.peers.length > 0 && this.deps.server() !== undefined;
  }

  /**
   * Every peer waited for holds the binlog up to byte `target` (sync.ts). During a compression
   * the pushers are stopped: this waits for it to end, then for the resent copies.
   */
  async reach(target: number): Promise<void> {
    if (this.compaction) {
      await this.compaction.catch(() => {});
      target = this.deps.binlog.size;
    }
    await this.pushers.reach(target);
  }

  /** How far each peer holds this trunk server's binlog (tests and monitoring). */
  pushed(): { id: string; offset: number }[] {
    return this.pushers.offsets();
  }

  /** Every peer gets the whole binlog again (its mark goes). */
  forgetMarks(): Promise<void> {
    return this.pushers.forgetMarks();
  }

  /** Disarms, waits for a run under way, stops pushing. */
  async close(): Promise<void> {
    await this.ahead.close();
    await this.compressor.close();
    await this.pushers.set([]);
  }

  private async createAhead(): Promise<void> {
    const server = this.deps.server();
    if (!server) return;
    const threshold = this.deps.params().trunkCreateFileSpaceThreshold;
    const made = await server.createAhead(threshold, (bytes) => this.deps.paths.choose(0xff, bytes));
    if (made > 0) this.deps.logger.info('trunk files created ahead of need', { count: made, threshold });
  }

  /**
   * trunk_compress_binlog_min_interval, FastDFS' other way (storage_trunk_save): with no
   * compression schedule, the list saved on leaving the role or stopping is saved by a
   * compression instead, once the storage has run an hour and that many seconds passed since
   * the last one. True when it compressed (and so saved).
   */
  async compressOnSave(server: TrunkServer): Promise<boolean> {
    const p = this.deps.params();
    if (p.trunkCompressBinlogInterval > 0 || p.trunkCompressBinlogMinInterval <= 0) return false;
    const now = this.now();
    if (now - this.startedAt < SAVE_COMPRESS_UPTIME_MS) return false;
    const last = Number(this.deps.flag().get(LAST_COMPRESS_KEY) ?? 0) * 1000;
    if (!(now - last > p.trunkCompressBinlogMinInterval * 1000)) return false;
    return this.compress(server);
  }

  /** True when it compressed; false when the binlog did not change since the last time. */
  private compress(server: TrunkServer): Promise<boolean> {
    if (this.deps.binlog.size === this.compactedAt) return Promise.resolve(false);
    // Pushers stopped for it, started again after it, from the new binlog's start.
    const run = this.compressNow(server).finally(async () => {
      this.compaction = undefined;
      await this.pushTo(this.peers);
    });
    this.compaction = run;
    return run;
  }

  private async compressNow(server: TrunkServer): Promise<boolean> {
    const { binlog, config } = this.deps;
    await this.pushers.set([]);
    const { before, after } = await compactTrunkBinlog({
      binlog,
      server,
      markDir: join(config.basePath, 'data', 'trunk'),
      dataPath: trunkDataPath(config.basePath),
      durable: config.durableWrites,
    });
    this.compactedAt = after;
    await this.deps.flag().set(LAST_COMPRESS_KEY, String(Math.floor(this.now() / 1000)));
    this.deps.logger.info('trunk binlog compressed', { before, after });
    return true;
  }
}
