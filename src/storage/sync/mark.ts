/**
 * The `.mark` file per peer (fact sheet §7.4): how far this storage's binlog has been pushed to
 * that peer, and whether old data (replica records too) is being copied to it. Same keys and
 * order as FastDFS; written temp + fsync + rename. A mark that does not parse is not trusted:
 * the push restarts from the beginning of the binlog, which is safe because applying is
 * idempotent.
 */
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../durable.js';

export interface SyncMark {
  binlogIndex: number;
  binlogOffset: number;
  /** This storage is the peer's sync source: forward replica records up to untilTimestamp. */
  needSyncOld: boolean;
  syncOldDone: boolean;
  /** The peer's until-timestamp when the mark was made; 0 for a peer that copied nothing. */
  untilTimestamp: number;
  scanRowCount: number;
  syncRowCount: number;
}

const KEYS = [
  'binlog_index',
  'binlog_offset',
  'need_sync_old',
  'sync_old_done',
  'until_timestamp',
  'scan_row_count',
  'sync_row_count',
] as const;

export function freshMark(needSyncOld: boolean, untilTimestamp: number): SyncMark {
  return {
    binlogIndex: 0,
    binlogOffset: 0,
    needSyncOld,
    syncOldDone: false,
    untilTimestamp,
    scanRowCount: 0,
    syncRowCount: 0,
  };
}

/** `<id>.mark` with storage ids, `<ip>_<port>.mark` without, as FastDFS names them. */
export function markFileName(peer: { id: string; ip: string; port: number }): string {
  const name = peer.id !== peer.ip ? peer.id : `${peer.ip}_${peer.port}`;
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.mark`;
}

export function encodeMark(m: SyncMark): string {
  const values = [
    m.binlogIndex,
    m.binlogOffset,
    m.needSyncOld ? 1 : 0,
    m.syncOldDone ? 1 : 0,
    m.untilTimestamp,
    m.scanRowCount,
    m.syncRowCount,
  ];
  return KEYS.map((k, i) => `${k}=${values[i]}\n`).join('');
}

/** The mark, or undefined when the text is not a complete mark. */
export function decodeMark(text: string): SyncMark | undefined {
  const kv = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)=(\d{1,15})$/.exec(line.trim());
    if (m?.[1] && m[2]) kv.set(m[1], Number(m[2]));
  }
  if (!KEYS.every((k) => kv.has(k))) return undefined;
  const n = (k: (typeof KEYS)[number]) => kv.get(k) ?? 0;
  return {
    binlogIndex: n('binlog_index'),
    binlogOffset: n('binlog_offset'),
    needSyncOld: n('need_sync_old') === 1,
    syncOldDone: n('sync_old_done') === 1,
    untilTimestamp: n('until_timestamp'),
    scanRowCount: n('scan_row_count'),
    syncRowCount: n('sync_row_count'),
  };
}

export class MarkFile {
  readonly path: string;

  constructor(
    dir: string,
    fileName: string,
    private readonly durable: boolean,
  ) {
    this.path = join(dir, fileName);
  }

  /** 'absent' for a peer never synced to, 'torn' for a file that cannot be trusted. */
  async load(): Promise<SyncMark | 'absent' | 'torn'> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw err;
    }
    return decodeMark(text) ?? 'torn';
  }

  save(m: SyncMark): Promise<void> {
    return writeFileAtomic(this.path, encodeMark(m), this.durable);
  }

  async remove(): Promise<void> {
    await unlink(this.path).catch(() => {});
  }
}
