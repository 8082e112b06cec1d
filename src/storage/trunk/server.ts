/**
 * The trunk server role (trunk_mem.c): the one storage of a group that hands out trunk space.
 * It keeps the free list, logs every change of it to the trunk binlog in FastDFS' record order
 * (so a stock storage can take over from the log), creates trunk files when the list runs dry,
 * and saves the list to storage_trunk.dat. Allocation is two-step as in FastDFS: alloc() holds
 * a slot, confirm() takes it for good once the file is written (or gives it back).
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FdfsError, type Logger, Status, syncDir } from '../../common/index.js';
import type { TrunkConfig } from '../../config/types.js';
import { formatTrunkRecord, type TrunkBinlog, TrunkOp, type TrunkRecord } from './binlog.js';
import type { FreeSpace } from './free-space.js';
import { describeSlot, type TrunkLocation, type TrunkSlot, trunkFilePath } from './slot.js';
import { loadFreeSpace, saveFreeSpace } from './state.js';

export interface TrunkServerDeps {
  readonly params: TrunkConfig;
  readonly storeRoots: readonly string[];
  readonly binlog: TrunkBinlog;
  /** storage_trunk.dat. */
  readonly dataPath: string;
  readonly durable: boolean;
  readonly logger: Logger;
  /** The next trunk file id, persisted before it is used (current_trunk_file_id). */
  readonly nextId: () => Promise<number>;
  /** A trunk file id the loaded list or binlog names: ids go on above it (ids.ts). */
  readonly seenId?: (id: number) => Promise<void>;
  /** The HH/LL a new trunk file goes to (the storage's own rotation, as FastDFS). */
  readonly subdirsFor: (id: number) => { high: number; low: number };
  /** Whether a slot's header shows a file (trunk_init_check_occupying). */
  readonly occupied?: (slot: TrunkSlot) => Promise<boolean>;
  /** Zeroes a slot's header: a slot handed out before a crash and never confirmed is free again. */
  readonly clearHeader?: (slot: TrunkSlot) => Promise<void>;
  /** Trunk-packed files the binlog's last records name (reconcile.ts). */
  readonly recentFiles?: () => Promise<Map<string, TrunkLocation>>;
  /** Whether the slot holds the named file (its header is in place). */
  readonly holds?: (loc: TrunkLocation) => Promise<boolean>;
  readonly now?: () => number;
}

/** What confirm() waits for: its record synced, written (not synced), or nothing. */
export type ConfirmWait = 'disk' | 'written' | 'lazy';

export class TrunkServer {
  private creating: Promise<void> | undefined;
  private readonly now: () => number;
  /** Failures of records not awaited (alloc's): the next awaited append reports them too. */
  private lastAppend: Promise<void> = Promise.resolve();

  private constructor(
    private readonly deps: TrunkServerDeps,
    readonly space: FreeSpace,
  ) {
    this.now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Loads the free list (snapshot + binlog replay) and saves it again when the replay moved it. */
  static async start(deps: TrunkServerDeps): Promise<TrunkServer> {
    const loaded = await loadFreeSpace(deps.dataPath, deps.binlog, {
      slotMinSize: deps.params.slotMinSize,
      storePathCount: deps.storeRoots.length,
      reloadFromBinlog: deps.params.trunkInitReloadFromBinlog,
      ...(deps.params.trunkInitCheckOccupying && deps.occupied ? { occupied: deps.occupied } : {}),
    });
    await deps.seenId?.(loaded.maxTrunkId);
    const server = new TrunkServer(deps, loaded.space);
    const carved = await server.reconcile();
    // Without this, the header an unanswered upload left would make the slot look taken forever.
    for (const slot of loaded.unconfirmed) if (loaded.space.find(slot)) await deps.clearHeader?.(slot);
    deps.logger.info('trunk server: free list loaded', {
      blocks: loaded.space.count,
      freeBytes: loaded.space.totalBytes,
      savedOffset: loaded.savedOffset,
      replayed: loaded.replayed,
      skipped: loaded.skipped,
      unconfirmed: loaded.unconfirmed.length,
      reconciled: carved,
    });
    if (loaded.replayed > 0 || loaded.skipped > 0 || carved > 0) await server.save();
    return server;
  }

  /**
   * Takes off the list the slots of files the binlog's last records name and whose headers are in
   * place: uploads answered before their D record reached the trunk binlog (see upload.ts).
   * Returns how many.
   */
  private async reconcile(): Promise<number> {
    const { recentFiles, holds } = this.deps;
    if (!recentFiles || !holds) return 0;
    let carved = 0;
    for (const loc of (await recentFiles()).values()) {
      const slot = loc.slot;
      if (slot.storePathIndex >= this.deps.storeRoots.length) continue;
      const block = this.space.covering(slot);
      if (!block || !(await holds(loc))) continue;
      this.carve(block, slot);
      carved++;
    }
    return carved;
  }

  /** Takes `slot` out of free `block` (which holds it), keeping the pieces around it. */
  private carve(block: TrunkSlot, slot: TrunkSlot): void {
    const ts = this.now();
    const records: TrunkRecord[] = [];
    this.space.remove(block);
    records.push({ ts, op: TrunkOp.DEL, slot: block });
    const before = { ...block, size: slot.offset - block.offset };
    const after = {
      ...block,
      offset: slot.offset + slot.size,
      size: block.offset + block.size - slot.offset - slot.size,
    };
    for (const piece of [before, after]) {
      if (piece.size >= this.deps.params.slotMinSize && this.space.add(piece)) {
        records.push({ ts, op: TrunkOp.ADD, slot: piece });
      }
    }
    this.deps.logger.warn('trunk slot of a file the binlog names was listed free; taken off', {
      slot: describeSlot(slot),
    });
    void this.log(records, false).catch(() => {});
  }

  /**
   * Takes every free block off the list (D records, as if handed out): what a storage taking
   * the role with a copy of the binlog it cannot vouch for does (store.ts). Returns how much.
   */
  async setAside(): Promise<{ blocks: number; bytes: number }> {
    const ts = this.now();
    const free = this.space.all().filter((b) => b.status === 'free');
    const records: TrunkRecord[] = [];
    let bytes = 0;
    for (const b of free) {
      this.space.remove(b.slot);
      records.push({ ts, op: TrunkOp.DEL, slot: b.slot });
      bytes += b.slot.size;
    }
    await this.log(records);
    return { blocks: records.length, bytes };
  }

  get freeBytes(): number {
    return this.space.totalBytes;
  }

  /** The slot size for `size` bytes (header included): slot_min_size, else rounded up to the alignment. */
  alignedSize(size: number): number {
    const { slotMinSize, trunkAllocAlignmentSize: align } = this.deps.params;
    if (size <= slotMinSize) return slotMinSize;
    if (align === 0 || size % align === 0) return size;
    return size + (align - (size % align));
  }

  /** `sync` false: no need to wait for the disk (a later synced record, or close, takes it there). */
  private log(records: TrunkRecord[], sync = true, prompt = sync): Promise<void> {
    const p = this.deps.binlog.append(records, sync, prompt);
    this.lastAppend = p.catch((err: unknown) => {
      this.deps.logger.error('trunk binlog write failed', { err });
    });
    return p;
  }

  /**
   * Holds a slot of at least `size` bytes (header included) on store path `storePathIndex`,
   * from the free list or a new trunk file. Its records are written without waiting: confirm()
   * waits for its own, which follow them in the file.
   */
  async alloc(size: number, storePathIndex: number): Promise<TrunkSlot> {
    if (size < 0 || size > this.deps.params.slotMaxSize) {
      throw new FdfsError(Status.EINVAL, `trunk alloc of ${size} bytes: over slot_max_size`);
    }
    if (storePathIndex < 0 || storePathIndex >= this.deps.storeRoots.length) {
      throw new FdfsError(Status.EINVAL, `trunk alloc: store path index ${storePathIndex} out of range`);
    }
    const want = this.alignedSize(size);
    let node: TrunkSlot | undefined;
    for (;;) {
      node = this.space.take(storePathIndex, want);
      if (node) break;
      // One new trunk file at a time; everyone waiting tries the list again after it.
      this.creating ??= this.createTrunkFile(storePathIndex).finally(() => {
        this.creating = undefined;
      });
      await this.creating;
    }
    const ts = this.now();
    const records: TrunkRecord[] = [{ ts, op: TrunkOp.DEL, slot: node }];
    const { slotMinSize } = this.deps.params;
    if (node.size - want >= slotMinSize) {
      const rest: TrunkSlot = { ...node, offset: node.offset + want, size: node.size - want };
      if (this.space.add(rest)) records.push({ ts, op: TrunkOp.ADD, slot: rest });
      node = { ...node, size: want };
    }
    this.space.add(node, 'hold');
    records.push({ ts, op: TrunkOp.ADD, slot: node });
    void this.log(records, false).catch(() => {});
    return node;
  }

  /**
   * The upload that held `slot` finished: status 0 (written) or EEXIST (someone's file was
   * already there) takes it off the list for good; anything else gives it back. `wait`: until
   * the record is on disk, only written (a peer is to be sent it), or not at all.
   */
  async confirm(slot: TrunkSlot, status: number, wait: ConfirmWait = 'disk'): Promise<void> {
    if (status === 0 || status === Status.EEXIST) {
      if (!this.space.remove(slot, 'hold')) {
        throw new FdfsError(Status.ENOENT, `trunk confirm: no held slot ${describeSlot(slot)}`);
      }
      if (status === Status.EEXIST)
        this.deps.logger.warn('trunk slot already occupied; dropped from the free list', {
          slot: describeSlot(slot),
        });
      const record: TrunkRecord[] = [{ ts: this.now(), op: TrunkOp.DEL, slot }];
      const logged = this.log(record, wait === 'disk', wait !== 'lazy');
      if (wait === 'lazy') {
        logged.catch(() => {});
        return;
      }
      // Records are written in order: this one written, every earlier one is too.
      await logged;
      return;
    }
    const b = this.space.find(slot);
    if (b?.status !== 'hold') {
      throw new FdfsError(Status.ENOENT, `trunk confirm: no held slot ${describeSlot(slot)}`);
    }
    b.status = 'free';
  }

  /**
   * A file's slot is free again (its bytes were zeroed). Slots under slot_min_size are not kept;
   * one overlapping a listed block is refused with EEXIST, as FastDFS refuses it.
   */
  async free(slot: TrunkSlot): Promise<void> {
    if (slot.size < this.deps.params.slotMinSize) return;
    if (slot.storePathIndex >= this.deps.storeRoots.length) {
      throw new FdfsError(Status.EINVAL, `trunk free: store path index ${slot.storePathIndex} out of range`);
    }
    if (!this.space.add(slot)) {
      throw new FdfsError(Status.EEXIST, `trunk free: ${describeSlot(slot)} overlaps free space`);
    }
    // Records are written in the order appended: no need to wait for earlier ones (an alloc's
    // waits up to the binlog's lazy delay for company; this one goes at once and takes it along).
    await this.log([{ ts: this.now(), op: TrunkOp.ADD, slot }]);
  }

  /**
   * trunk_create_file_advance's run (trunk_mem.c): with less than `threshold` bytes on the free
   * list, (threshold - free) / trunk_file_size new trunk files, rounded down as FastDFS counts,
   * each on the store path `choose` gives (it throws ENOSPC above the reserved space). The
   * number made.
   */
  async createAhead(threshold: number, choose: (bytes: number) => number): Promise<number> {
    const { trunkFileSize } = this.deps.params;
    const need = threshold - this.space.totalBytes;
    const count = need > 0 ? Math.floor(need / trunkFileSize) : 0;
    for (let i = 0; i < count; i++) {
      const storePathIndex = choose(trunkFileSize);
      // One new trunk file at a time, with alloc()'s too.
      while (this.creating) await this.creating;
      this.creating = this.createTrunkFile(storePathIndex).finally(() => {
        this.creating = undefined;
      });
      await this.creating;
    }
    return count;
  }

  /** A new trunk file of trunk_file_size bytes (sparse), listed free. */
  private async createTrunkFile(storePathIndex: number): Promise<void> {
    const root = this.deps.storeRoots[storePathIndex] as string;
    for (;;) {
      const id = await this.deps.nextId();
      const { high, low } = this.deps.subdirsFor(id);
      const path = trunkFilePath(root, { subdirHigh: high, subdirLow: low, id });
      await mkdir(dirname(path), { recursive: true });
      let fh: Awaited<ReturnType<typeof open>>;
      try {
        fh = await open(path, 'wx', 0o644);
      } catch (err) {
        // An id whose file exists (a stock storage made it, or a lost counter): take the next.
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      try {
        await fh.truncate(this.deps.params.trunkFileSize);
        if (this.deps.durable) await fh.sync();
      } finally {
        await fh.close();
      }
      if (this.deps.durable) await syncDir(dirname(path));
      const slot: TrunkSlot = {
        storePathIndex,
        subdirHigh: high,
        subdirLow: low,
        id,
        offset: 0,
        size: this.deps.params.trunkFileSize,
      };
      this.space.add(slot);
      void this.log([{ ts: this.now(), op: TrunkOp.ADD, slot }], false).catch(() => {});
      this.deps.logger.info('trunk file created', { trunk: describeSlot(slot) });
      return;
    }
  }

  /**
   * The free list as trunk binlog lines (A records): what a compressed binlog starts with. With
   * trunk_free_space_merge, blocks that touch are joined first; the joins need no records, the
   * lines replace the log.
   */
  snapshotText(): string {
    if (this.deps.params.trunkFreeSpaceMerge) this.space.merge();
    const ts = this.now();
    const lines: string[] = [];
    for (const b of this.space.all()) lines.push(formatTrunkRecord({ ts, op: TrunkOp.ADD, slot: b.slot }));
    return lines.join('');
  }

  /** storage_trunk.dat: the list and the binlog offset it covers. */
  async save(): Promise<void> {
    await this.lastAppend;
    await saveFreeSpace(this.deps.dataPath, this.deps.binlog, this.space, {
      merge: this.deps.params.trunkFreeSpaceMerge,
      durable: this.deps.durable,
      now: this.now(),
    });
  }
}
