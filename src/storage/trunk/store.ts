/**
 * A storage's side of trunk files: the trunk settings its trackers hand out (cmd 75), which
 * storage of the group is the trunk server (their lists, cmd 92), the trunk server role when it
 * is this one, and what every storage does with trunk-packed files: find them, zero a deleted
 * file's slot and give the slot back to the trunk server.
 */
import { stat, unlink } from 'node:fs/promises';
import { FdfsError, type Logger, Status } from '../../common/index.js';
import { defaultTrunkConfig } from '../../config/index.js';
import type { HostPort, StorageConfig, TrunkConfig } from '../../config/types.js';
import { type StorageStat, StorageStatus } from '../../protocol/index.js';
import type { DistPath } from '../dist-path.js';
import type { StorePaths } from '../store-paths.js';
import { TrunkBinlog, trunkBinlogPath } from './binlog.js';
import { TrunkFiles } from './files.js';
import { SlotGiveBack } from './give-back.js';
import { TrunkIds } from './ids.js';
import { RemoteTrunkServer } from './remote.js';
import type { TrunkServer } from './server.js';
import {
  describeSlot,
  isTrunkName,
  locate,
  TRUNK_HEADER_SIZE,
  type TrunkLocation,
  type TrunkSlot,
  trunkFilePath,
} from './slot.js';
import { slotHolds, zeroSlot } from './slot-io.js';
import { trunkDataPath } from './state.js';
import { takeRole as startRole } from './take-role.js';
import { TrunkUpkeep } from './upkeep.js';
import { CopyVouch } from './vouch.js';
import { TrunkWriter } from './writer.js';

/** The keys of `.data_init_flag` the trunk server keeps there, as FastDFS does. */
export interface FlagKeys {
  get(key: string): string | undefined;
  set(key: string, value: string): Promise<void>;
}

export interface TrunksDeps {
  readonly config: StorageConfig;
  readonly paths: StorePaths;
  readonly dist: DistPath;
  readonly logger: Logger;
  /** `.data_init_flag`, once replication has loaded it. */
  readonly flag: () => FlagKeys;
  /** The binlog's folder and the index it writes to (the trunk server reads its last records). */
  readonly binlogDir?: string;
  readonly binlogIndex?: () => number;
}

/** Storages that no longer count for the group (upstream stops their trunk sync threads). */
const GONE: ReadonlySet<number> = new Set([
  StorageStatus.DELETED,
  StorageStatus.IP_CHANGED,
  StorageStatus.NONE,
]);

export class Trunks {
  /** FastDFS' defaults (trunk files off) until a tracker sends its settings. */
  params: TrunkConfig = defaultTrunkConfig();
  readonly binlog: TrunkBinlog;
  /** Trunk files open for writing (uploads, replicas), with their shared fdatasyncs. */
  readonly files: TrunkFiles;
  /** The thread that writes small uploads into trunk files; started when trunk files are turned on. */
  writer: TrunkWriter | undefined;
  private server: TrunkServer | undefined;
  private switching: Promise<void> = Promise.resolve();
  /** The group's trunk server when it is another storage. */
  private remote: (HostPort & { id: string }) | undefined;
  /** The storage each tracker's last list flags as trunk server, by tracker. */
  private readonly namedBy = new Map<string, StorageStat | undefined>();
  private binlogOpen: Promise<void> | undefined;
  private readonly wire: RemoteTrunkServer;
  private readonly log: Logger;
  private closed = false;
  /** Deleted files' slots on their way back to the trunk server. */
  private readonly giveBack: SlotGiveBack;
  /** The role's binlog pushers and scheduled tasks. */
  private readonly upkeep: TrunkUpkeep;
  private readonly ids: TrunkIds;
  private readonly vouch: CopyVouch;

  constructor(private readonly deps: TrunksDeps) {
    const c = deps.config;
    this.binlog = new TrunkBinlog(trunkBinlogPath(c.basePath), c.durableWrites);
    this.files = new TrunkFiles(c.durableWrites);
    this.log = deps.logger.child({ part: 'trunk' });
    this.ids = new TrunkIds(deps.flag);
    this.vouch = new CopyVouch(deps.flag);
    this.wire = new RemoteTrunkServer(c, this.log);
    this.giveBack = new SlotGiveBack({
      groupName: c.groupName,
      logger: this.log,
      zero: (slot) => this.zero(slot),
      free: (slot) => this.free(slot),
      holds: (loc) => this.holds(loc),
      serverKnown: () => this.server !== undefined || this.remote !== undefined,
    });
    this.upkeep = new TrunkUpkeep({
      config: c,
      paths: deps.paths,
      binlog: this.binlog,
      logger: this.log,
      params: () => this.params,
      server: () => (this.closed ? undefined : this.server),
      flag: deps.flag,
      inLine: (task) => {
        const next = this.switching.then(task);
        this.switching = next.catch(() => {});
        return next;
      },
    });
  }

  /** Runs of trunk_create_file_advance's schedule so far (monitoring, tests). */
  get aheadRuns(): number {
    return this.upkeep.aheadRuns;
  }

  /** Runs of trunk_compress_binlog's schedule so far (monitoring, tests). */
  get compressRuns(): number {
    return this.upkeep.compressRuns;
  }

  /**
   * True while this storage is its group's trunk server and peers keep copies of its binlog:
   * then a packed file's binlog record waits for its confirmation to reach them (upload.ts).
   */
  get replicating(): boolean {
    return this.server !== undefined && this.upkeep.replicating;
  }

  /** True while this storage is its group's trunk server. */
  get isServer(): boolean {
    return this.server !== undefined;
  }

  /** The trunk server role, when this storage has it (tests and monitoring look at its list). */
  get serverRole(): TrunkServer | undefined {
    return this.server;
  }

  private openBinlog(): Promise<void> {
    this.binlogOpen ??= this.binlog.open();
    return this.binlogOpen;
  }

  /** Bytes in the trunk binlog (cmd 31: a tracker picks the storage with the most). */
  async binlogSize(): Promise<number> {
    if (this.binlogOpen) {
      await this.binlogOpen;
      return this.binlog.size;
    }
    return stat(this.binlog.path).then(
      (s) => s.size,
      () => 0,
    );
  }

  /** The trunk keys of a tracker's parameter reply (cmd 75). */
  configure(params: TrunkConfig): void {
    const changed = JSON.stringify(params) !== JSON.stringify(this.params);
    if (changed) {
      this.log.info('trunk settings from tracker', {
        useTrunkFile: params.useTrunkFile,
        slotMinSize: params.slotMinSize,
        slotMaxSize: params.slotMaxSize,
        trunkFileSize: params.trunkFileSize,
      });
    }
    this.params = params;
    if (changed && this.server) this.upkeep.arm();
    if (params.useTrunkFile && !this.writer && !this.closed) {
      this.writer = TrunkWriter.start(this.deps.config.durableWrites);
    }
  }

  /**
   * A tracker's list of the group (cmd 92): the storage flagged if_trunk_server is the trunk
   * server. This one takes the role (loads the free list) or gives it up (saves it) to match.
   */
  observe(list: readonly StorageStat[], myId: string | undefined, tracker = ''): Promise<void> {
    const flagged = list.find((s) => s.ifTrunkServer && s.status !== StorageStatus.DELETED);
    this.namedBy.set(tracker, flagged);
    // Only a trunk server every tracker names counts: while they disagree (one restarted with an
    // older choice, a leader change on its way) none does, rather than two at once.
    const names = [...this.namedBy.values()];
    const named = names.every((n) => n?.id === flagged?.id) ? flagged : undefined;
    const mine = named !== undefined && myId !== undefined && named.id === myId;
    if (named && !mine) this.remote = { host: named.ip, port: named.storagePort, id: named.id };
    else if (!named) this.remote = undefined;
    if (mine !== this.isServer) {
      const next = this.switching.then(() => (mine ? this.takeRole() : this.dropRole()));
      this.switching = next.catch((err: unknown) =>
        this.log.error('trunk server role change failed', { err }),
      );
    }
    const peers = list
      .filter((s) => s.id !== myId && !GONE.has(s.status))
      .map((s) => ({ id: s.id, ip: s.ip, port: s.storagePort }));
    return this.switching.then(async () => {
      await this.upkeep.pushTo(this.server ? peers : []);
      await this.giveBack.payOwed();
    });
  }

  /** A tracker's link went: its lists no longer count (observe). */
  forgetTracker(tracker: string): void {
    this.namedBy.delete(tracker);
  }

  /** How far each peer holds this trunk server's binlog (tests and monitoring). */
  pushed(): { id: string; offset: number }[] {
    return this.upkeep.pushed();
  }

  /** Cmd 30: lines of the trunk server's binlog for this storage's copy. */
  async takeBinlog(lines: Buffer): Promise<void> {
    if (this.server) throw new FdfsError(Status.EINVAL, 'trunk binlog sync to the trunk server itself');
    if (lines.length > 0 && lines[lines.length - 1] !== 0x0a) {
      throw new FdfsError(Status.EINVAL, 'trunk binlog sync: the last line is not whole');
    }
    await this.openBinlog();
    const text = lines.toString('latin1');
    // Written, not synced: the trunk server waits for this push before it answers (sync.ts), and
    // a copy a crash of this machine cut short is one this storage cannot vouch for (vouch.ts).
    await this.binlog.appendText(text, false, true);
    await this.ids.seenIn(text);
    await this.vouch.pushed(lines);
  }

  /** Cmd 33: the trunk server resends its binlog from the start; this copy and its snapshot go. */
  async truncateBinlog(): Promise<void> {
    if (this.server) throw new FdfsError(Status.EINVAL, 'trunk binlog truncate on the trunk server itself');
    await this.openBinlog();
    await this.vouch.emptied();
    await this.binlog.truncate(this.params.trunkBinlogMaxBackups);
    await unlink(trunkDataPath(this.deps.config.basePath)).catch(() => {});
  }

  /** Cmd 32 (from a tracker naming a new trunk server): every peer gets the whole binlog again. */
  forgetMarks(): Promise<void> {
    return this.upkeep.forgetMarks();
  }

  private async takeRole(): Promise<void> {
    if (this.server || this.closed) return;
    await this.openBinlog();
    this.server = await startRole({
      deps: this.deps,
      params: this.params,
      binlog: this.binlog,
      log: this.log,
      ids: this.ids,
      vouch: this.vouch,
      pathOf: (slot: TrunkSlot) => this.pathOf(slot),
    });
    this.remote = undefined;
    this.upkeep.arm();
    this.log.info("this storage is now its group's trunk server");
  }

  private async dropRole(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    this.upkeep.disarm();
    await this.upkeep.pushTo([]);
    if (!(await this.upkeep.compressOnSave(s))) await s.save();
    this.log.info("this storage is no longer its group's trunk server");
  }

  /**
   * Whether an upload of `size` bytes goes into a trunk slot: trunk files are on, the size is
   * known and fits slot_max_size with its header (FastDFS' trunk_check_size), and a trunk server
   * is known to ask for the space.
   */
  canPack(size: number | undefined): boolean {
    return (
      this.params.useTrunkFile &&
      size !== undefined &&
      size + TRUNK_HEADER_SIZE <= this.params.slotMaxSize &&
      (this.server !== undefined || this.remote !== undefined) &&
      !this.closed
    );
  }

  /** The largest body a trunk slot takes now (0 while uploads cannot be packed). */
  get packLimit(): number {
    return this.canPack(0) ? this.params.slotMaxSize - TRUNK_HEADER_SIZE : 0;
  }

  /** A held slot of at least `size` bytes (header included): from this storage's list or the trunk server's (27). */
  async alloc(size: number, storePathIndex: number): Promise<TrunkSlot> {
    if (this.server) return this.server.alloc(size, storePathIndex);
    const to = this.remote;
    if (!to) throw new FdfsError(Status.EAGAIN, 'no trunk server known to allocate trunk space');
    return this.wire.alloc(to, size, storePathIndex);
  }

  /**
   * Tells the trunk server how the upload into a held slot ended (28): 0 keeps it, an errno gives
   * it back. `lazy` (this storage being the trunk server): its record need not be on disk yet,
   * the binlog record of the file covers a crash (reconcile.ts). Over the wire it always is.
   * Kept slots of a trunk server with peers are in their copies before this resolves.
   */
  async confirm(slot: TrunkSlot, status: number, lazy = false): Promise<void> {
    const server = this.server;
    if (server) {
      if (status !== 0 || !this.upkeep.replicating)
        return server.confirm(slot, status, lazy ? 'lazy' : 'disk');
      // An answered file's slot is in the peers' copies first: whichever takes the role next
      // knows it is taken (sync.ts).
      await server.confirm(slot, status, lazy ? 'written' : 'disk');
      await this.upkeep.reach(this.binlog.size);
      return;
    }
    const to = this.remote;
    if (!to) throw new FdfsError(Status.EAGAIN, `no trunk server known to confirm ${describeSlot(slot)}`);
    await this.wire.confirm(to, slot, status);
  }

  /** The trunk file a slot is in (absolute path). */
  fileOf(slot: TrunkSlot): string {
    return this.pathOf(slot);
  }

  /** The slot of a trunk-packed file's name; undefined for every other name. */
  locate(remote: string): TrunkLocation | undefined {
    return isTrunkName(remote) ? locate(remote) : undefined;
  }

  private pathOf(slot: TrunkSlot): string {
    return trunkFilePath(this.deps.paths.root(slot.storePathIndex), slot);
  }

  private holds(loc: TrunkLocation): Promise<boolean> {
    return slotHolds(this.pathOf(loc.slot), loc);
  }

  /** Writes zeros over a whole slot (FastDFS' trunk_file_delete), synced when durable. */
  zero(slot: TrunkSlot): Promise<void> {
    return zeroSlot(this.pathOf(slot), slot, this.deps.config.durableWrites);
  }

  /**
   * Gives a slot back to the trunk server: this storage's own list, or the trunk server's over
   * the wire (29). With no trunk server known the space stays unused, as in FastDFS.
   */
  async free(slot: TrunkSlot): Promise<void> {
    if (this.server) return this.server.free(slot);
    const to = this.remote;
    if (!to) {
      throw new FdfsError(Status.EAGAIN, `no trunk server known to take back ${describeSlot(slot)}`);
    }
    await this.wire.free(to, slot);
  }

  /** A deleted file's slot: zeroed and given back (give-back.ts). */
  release(remote: string, loc: TrunkLocation): Promise<void> {
    return this.giveBack.release(remote, loc);
  }

  /** At start, a delete a crash cut short (give-back.ts); true when it finished it. */
  finishDelete(remote: string, loc: TrunkLocation): Promise<boolean> {
    return this.giveBack.finishDelete(remote, loc);
  }

  /** Where a trunk file's bytes live on disk, for a reader beside the storage. */
  trunkPath(loc: TrunkLocation): string {
    return this.pathOf(loc.slot);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.switching;
    await this.upkeep.close();
    const s = this.server;
    try {
      if (s && !(await this.upkeep.compressOnSave(s))) await s.save();
    } catch (err) {
      this.log.error('saving the trunk free list failed', { err });
    }
    this.server = undefined;
    this.wire.close();
    await this.files.close();
    await this.writer?.close();
    this.writer = undefined;
    if (this.binlogOpen) await this.binlogOpen.then(() => this.binlog.close()).catch(() => {});
  }
}
