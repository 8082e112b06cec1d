/**
 * The trunk server's free list (trunk_mem.c), in memory: free blocks by store path and size for
 * allocation (smallest size that fits, newest block of that size first), and by trunk file and
 * offset to refuse a block that overlaps one already listed (FastDFS' free block checker).
 * Blocks handed out but not yet confirmed stay listed as `hold`, as FastDFS keeps them.
 * Plain data structure: no I/O, no binlog; the allocator decides what gets logged.
 */
import type { TrunkSlot } from './slot.js';

export type BlockStatus = 'free' | 'hold';

export interface FreeBlock {
  slot: TrunkSlot;
  status: BlockStatus;
}

function fileKey(s: TrunkSlot): string {
  return `${s.storePathIndex}/${s.subdirHigh}/${s.subdirLow}/${s.id}`;
}

/** Index of the first element of sorted `list` ≥ `value` (binary search). */
function lowerBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class PathBlocks {
  /** Distinct sizes, ascending. */
  readonly sizes: number[] = [];
  /** Size → blocks of that size, newest last. */
  readonly chains = new Map<number, FreeBlock[]>();

  insert(b: FreeBlock): void {
    const chain = this.chains.get(b.slot.size);
    if (chain) {
      chain.push(b);
      return;
    }
    this.chains.set(b.slot.size, [b]);
    this.sizes.splice(lowerBound(this.sizes, b.slot.size), 0, b.slot.size);
  }

  remove(b: FreeBlock): void {
    const chain = this.chains.get(b.slot.size);
    const at = chain ? chain.indexOf(b) : -1;
    if (!chain || at < 0) return;
    chain.splice(at, 1);
    if (chain.length === 0) {
      this.chains.delete(b.slot.size);
      this.sizes.splice(lowerBound(this.sizes, b.slot.size), 1);
    }
  }

  /** The newest free block of the smallest size ≥ `size`. */
  fit(size: number): FreeBlock | undefined {
    for (let i = lowerBound(this.sizes, size); i < this.sizes.length; i++) {
      const chain = this.chains.get(this.sizes[i] ?? 0) ?? [];
      for (let j = chain.length - 1; j >= 0; j--) {
        const b = chain[j];
        if (b && b.status === 'free') return b;
      }
    }
    return undefined;
  }
}

export class FreeSpace {
  private readonly paths = new Map<number, PathBlocks>();
  /** Trunk file → its blocks sorted by offset. */
  private readonly files = new Map<string, FreeBlock[]>();
  private bytes = 0;
  private blocks = 0;

  /** Bytes in free (and held) blocks: g_trunk_total_free_space. */
  get totalBytes(): number {
    return this.bytes;
  }

  get count(): number {
    return this.blocks;
  }

  private pathOf(index: number): PathBlocks {
    let p = this.paths.get(index);
    if (!p) {
      p = new PathBlocks();
      this.paths.set(index, p);
    }
    return p;
  }

  /** Where `slot` would go in its file's offset order, and whether it overlaps a listed block. */
  private place(slot: TrunkSlot): { list: FreeBlock[]; at: number; overlaps: boolean } {
    const list = this.files.get(fileKey(slot)) ?? [];
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid]?.slot.offset ?? 0) < slot.offset) lo = mid + 1;
      else hi = mid;
    }
    const prev = list[lo - 1];
    const next = list[lo];
    const overlaps =
      (prev !== undefined && prev.slot.offset + prev.slot.size > slot.offset) ||
      (next !== undefined && next.slot.offset < slot.offset + slot.size);
    return { list, at: lo, overlaps };
  }

  /** Lists a block; false (and nothing changes) when it overlaps a listed one (EEXIST upstream). */
  add(slot: TrunkSlot, status: BlockStatus = 'free'): boolean {
    const { list, at, overlaps } = this.place(slot);
    if (overlaps) return false;
    const b: FreeBlock = { slot, status };
    list.splice(at, 0, b);
    this.files.set(fileKey(slot), list);
    this.pathOf(slot.storePathIndex).insert(b);
    this.bytes += slot.size;
    this.blocks++;
    return true;
  }

  /** The listed block exactly equal to `slot`. */
  find(slot: TrunkSlot): FreeBlock | undefined {
    const { list, at } = this.place(slot);
    const b = list[at];
    return b && b.slot.offset === slot.offset && b.slot.size === slot.size ? b : undefined;
  }

  /** The free block that holds all of `slot`, if one does. */
  covering(slot: TrunkSlot): TrunkSlot | undefined {
    const list = this.files.get(fileKey(slot)) ?? [];
    for (const b of list) {
      if (b.status !== 'free') continue;
      if (b.slot.offset <= slot.offset && b.slot.offset + b.slot.size >= slot.offset + slot.size)
        return b.slot;
      if (b.slot.offset > slot.offset) break;
    }
    return undefined;
  }

  /** Unlists the block equal to `slot` (with `status`, if given); false when there is none. */
  remove(slot: TrunkSlot, status?: BlockStatus): boolean {
    const b = this.find(slot);
    if (!b || (status !== undefined && b.status !== status)) return false;
    this.unlist(b);
    return true;
  }

  private unlist(b: FreeBlock): void {
    const key = fileKey(b.slot);
    const list = this.files.get(key) ?? [];
    const at = list.indexOf(b);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.files.delete(key);
    this.paths.get(b.slot.storePathIndex)?.remove(b);
    this.bytes -= b.slot.size;
    this.blocks--;
  }

  /** Unlists and returns the best free block of at least `size` bytes on store path `index`. */
  take(index: number, size: number): TrunkSlot | undefined {
    const b = this.paths.get(index)?.fit(size);
    if (!b) return undefined;
    this.unlist(b);
    return b.slot;
  }

  /** Every listed block, by store path, trunk file and offset. */
  all(): FreeBlock[] {
    const keys = [...this.files.keys()].sort((a, b) => {
      const pa = a.split('/').map(Number);
      const pb = b.split('/').map(Number);
      for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
      return 0;
    });
    return keys.flatMap((k) => this.files.get(k) ?? []);
  }

  /**
   * Joins free blocks that touch within a trunk file into one (trunk_free_space_merge, done when
   * the list is saved). Held blocks are left alone. Returns each join: the blocks and the result.
   */
  merge(): { parts: TrunkSlot[]; joined: TrunkSlot }[] {
    const joins: { parts: TrunkSlot[]; joined: TrunkSlot }[] = [];
    for (const list of [...this.files.values()]) {
      let run: FreeBlock[] = [];
      const flush = () => {
        if (run.length > 1) {
          const first = run[0] as FreeBlock;
          const last = run[run.length - 1] as FreeBlock;
          const joined = { ...first.slot, size: last.slot.offset + last.slot.size - first.slot.offset };
          for (const b of run) this.unlist(b);
          this.add(joined);
          joins.push({ parts: run.map((b) => b.slot), joined });
        }
        run = [];
      };
      for (const b of [...list]) {
        const prev = run[run.length - 1];
        if (b.status !== 'free') {
          flush();
          continue;
        }
        if (prev && prev.slot.offset + prev.slot.size !== b.slot.offset) flush();
        run.push(b);
      }
      flush();
    }
    return joins;
  }
}
