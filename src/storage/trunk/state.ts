/**
 * The free list across restarts, as FastDFS keeps it (trunk_mem.c storage_trunk_load/save):
 * `<base_path>/data/storage_trunk.dat` holds the trunk binlog size it covers on its first line,
 * then one `A` line per free block; the binlog past that offset is replayed over it. Without the
 * file (or with trunk_init_reload_from_binlog) the whole binlog is replayed from 0.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/index.js';
import {
  formatTrunkRecord,
  parseTrunkRecord,
  type TrunkBinlog,
  TrunkOp,
  type TrunkRecord,
} from './binlog.js';
import { FreeSpace } from './free-space.js';
import { sameSlot, type TrunkSlot } from './slot.js';

export function trunkDataPath(basePath: string): string {
  return join(basePath, 'data', 'storage_trunk.dat');
}

export interface LoadOptions {
  readonly slotMinSize: number;
  readonly storePathCount: number;
  /** trunk_init_reload_from_binlog: ignore the saved list, replay everything. */
  readonly reloadFromBinlog: boolean;
  /** trunk_init_check_occupying: drop a saved block whose header says a file lives there. */
  readonly occupied?: (slot: TrunkSlot) => Promise<boolean>;
}

export interface Loaded {
  readonly space: FreeSpace;
  /** Binlog offset the saved list covered (0 when there was none). */
  readonly savedOffset: number;
  /** Records replayed from the binlog on top of it. */
  readonly replayed: number;
  /** Lines of the saved file or binlog that were not records (torn or foreign). */
  readonly skipped: number;
  /**
   * Slots handed out (an A record right after the D of the block they came from) and never
   * confirmed: a crash came before. Free again; their bytes belong to no name.
   */
  readonly unconfirmed: TrunkSlot[];
  /** The highest trunk file id the saved list and the binlog name (0 for none). */
  readonly maxTrunkId: number;
}

async function readSaved(path: string): Promise<{ offset: number; slots: TrunkSlot[] } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const [first = '', ...lines] = text.split('\n');
  if (!/^\d{1,15}$/.test(first.trim())) return undefined;
  const slots: TrunkSlot[] = [];
  for (const line of lines) {
    if (line === '') continue;
    const r = parseTrunkRecord(line);
    // A torn snapshot is not trusted at all: the whole binlog is replayed instead.
    if (!r) return undefined;
    slots.push(r.slot);
  }
  return { offset: Number(first.trim()), slots };
}

function sameFile(a: TrunkSlot, b: TrunkSlot): boolean {
  return (
    a.storePathIndex === b.storePathIndex &&
    a.subdirHigh === b.subdirHigh &&
    a.subdirLow === b.subdirLow &&
    a.id === b.id
  );
}

export async function loadFreeSpace(dataPath: string, binlog: TrunkBinlog, o: LoadOptions): Promise<Loaded> {
  const saved = o.reloadFromBinlog ? undefined : await readSaved(dataPath);
  const space = new FreeSpace();
  let skipped = 0;
  let offset = 0;
  let maxTrunkId = 0;
  if (saved && saved.offset <= binlog.size) {
    offset = saved.offset;
    for (const slot of saved.slots) {
      maxTrunkId = Math.max(maxTrunkId, slot.id);
      if (slot.storePathIndex >= o.storePathCount || slot.size < o.slotMinSize) continue;
      if (o.occupied && (await o.occupied(slot))) continue;
      space.add(slot);
    }
  }
  let replayed = 0;
  // A hand-out is logged D(block) [A(rest of it)] A(slot at the block's start); its confirmation
  // is D(slot). Followed here to find hand-outs a crash left unconfirmed.
  let handout: { from: TrunkSlot; rest: boolean } | undefined;
  const held = new Map<string, TrunkSlot>();
  const key = (s: TrunkSlot) =>
    `${s.storePathIndex}/${s.subdirHigh}/${s.subdirLow}/${s.id}@${s.offset}+${s.size}`;
  for await (const { record } of binlog.records(offset)) {
    if (!record || record.slot.storePathIndex >= o.storePathCount) {
      skipped++;
      continue;
    }
    replayed++;
    const slot = record.slot;
    maxTrunkId = Math.max(maxTrunkId, slot.id);
    if (record.op === TrunkOp.ADD) {
      // Blocks under slot_min_size are never reused; an overlap is a record already applied.
      if (slot.size >= o.slotMinSize) space.add(slot);
      const from = handout?.from;
      if (from && sameFile(from, slot) && slot.offset === from.offset && slot.size <= from.size) {
        held.set(key(slot), slot);
        handout = undefined;
      } else if (
        handout &&
        from &&
        !handout.rest &&
        sameFile(from, slot) &&
        slot.offset > from.offset &&
        slot.offset + slot.size === from.offset + from.size
      ) {
        handout.rest = true;
      } else handout = undefined;
    } else {
      const b = space.find(slot);
      if (b && sameSlot(b.slot, slot)) space.remove(slot);
      held.delete(key(slot));
      handout = { from: slot, rest: false };
    }
  }
  const unconfirmed = [...held.values()].filter((s) => space.find(s) !== undefined);
  return { space, savedOffset: offset, replayed, skipped, unconfirmed, maxTrunkId };
}

/**
 * Saves the list with the binlog size it covers (temp + fsync + rename). With `merge`, free
 * blocks that touch are joined first, as trunk_free_space_merge does when FastDFS saves; unlike
 * FastDFS the joins are logged (D per part, A for the whole), so replaying the binlog from the
 * start still gives the list this file holds.
 */
export async function saveFreeSpace(
  dataPath: string,
  binlog: TrunkBinlog,
  space: FreeSpace,
  o: { merge: boolean; durable: boolean; now: number },
): Promise<void> {
  if (o.merge) {
    const records: TrunkRecord[] = [];
    for (const j of space.merge()) {
      for (const slot of j.parts) records.push({ ts: o.now, op: TrunkOp.DEL, slot });
      records.push({ ts: o.now, op: TrunkOp.ADD, slot: j.joined });
    }
    await binlog.append(records);
  }
  await binlog.settled();
  const lines = [`${binlog.size}\n`];
  for (const b of space.all()) lines.push(formatTrunkRecord({ ts: o.now, op: TrunkOp.ADD, slot: b.slot }));
  await writeFileAtomic(dataPath, lines.join(''), o.durable);
}
