/**
 * Trunk file ids (`current_trunk_file_id` in `.data_init_flag`, where FastDFS keeps it): the
 * trunk server numbers new trunk files on from it. Every id the trunk binlog names raises it,
 * on the trunk server and on each peer keeping a copy: the last trunk server's newest files may
 * not be on a successor's disk yet (their files' replicas lag), and one made again under the
 * same name would be handed out whole over them (the failover test found it).
 */
import { parseTrunkRecord } from './binlog.js';
import type { FlagKeys } from './store.js';

const CURRENT_ID_KEY = 'current_trunk_file_id';

export class TrunkIds {
  constructor(private readonly flag: () => FlagKeys) {}

  /** The last id used or seen. */
  current(): number {
    const n = Number(this.flag().get(CURRENT_ID_KEY) ?? 0);
    return Number.isSafeInteger(n) && n > 0 ? n : 0;
  }

  /** The next id, persisted before it is used. */
  async next(): Promise<number> {
    const id = this.current() + 1;
    await this.flag().set(CURRENT_ID_KEY, String(id));
    return id;
  }

  /** Ids go on above `id` (a trunk file the binlog names). */
  async seen(id: number): Promise<void> {
    if (this.current() < id) await this.flag().set(CURRENT_ID_KEY, String(id));
  }

  /** Ids go on above every trunk file these binlog lines name (a push from the trunk server). */
  async seenIn(lines: string): Promise<void> {
    let top = 0;
    for (const line of lines.split('\n')) {
      const r = line === '' ? undefined : parseTrunkRecord(line);
      if (r && r.slot.id > top) top = r.slot.id;
    }
    if (top > 0) await this.seen(top);
  }
}
