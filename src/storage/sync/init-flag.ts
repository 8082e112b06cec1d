/**
 * `data/.data_init_flag`, as FastDFS keeps it: whether this storage already holds its group's
 * old data, and if not, which peer copies it and up to when. It survives restarts, so a storage
 * killed half-way through its first copy resumes it, and a storage that finished never copies
 * again. Written temp + fsync + rename; a file that does not parse is treated as absent.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Binlog } from '../binlog.js';
import { writeFileAtomic } from '../durable.js';

export const INIT_FLAG_FILE = '.data_init_flag';

export interface InitFlagState {
  storageJoinTime: number;
  syncOldDone: boolean;
  /** '' until a tracker named the source. */
  syncSrcServer: string;
  syncUntilTimestamp: number;
}

const OWN_KEYS = new Set(['storage_join_time', 'sync_old_done', 'sync_src_server', 'sync_until_timestamp']);

function encode(s: InitFlagState, extra: ReadonlyMap<string, string>): string {
  return [
    `storage_join_time=${s.storageJoinTime}`,
    `sync_old_done=${s.syncOldDone ? 1 : 0}`,
    `sync_src_server=${s.syncSrcServer}`,
    `sync_until_timestamp=${s.syncUntilTimestamp}`,
    ...[...extra].map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
}

function keyValues(text: string): Map<string, string> {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return kv;
}

function decode(text: string): InitFlagState | undefined {
  const kv = keyValues(text);
  const num = (k: string) => (/^\d{1,15}$/.test(kv.get(k) ?? '') ? Number(kv.get(k)) : undefined);
  const joinTime = num('storage_join_time');
  const done = num('sync_old_done');
  const until = num('sync_until_timestamp');
  const src = kv.get('sync_src_server');
  if (joinTime === undefined || done === undefined || until === undefined || src === undefined)
    return undefined;
  return {
    storageJoinTime: joinTime,
    syncOldDone: done === 1,
    syncSrcServer: src,
    syncUntilTimestamp: until,
  };
}

export class InitFlag {
  private readonly path: string;
  state: InitFlagState = { storageJoinTime: 0, syncOldDone: false, syncSrcServer: '', syncUntilTimestamp: 0 };
  /**
   * The file's other keys, kept as they were (FastDFS writes last_ip_addr, store path marks, the
   * trunk server's current_trunk_file_id, ...), so rewriting the file loses none of them.
   */
  private readonly extra = new Map<string, string>();

  constructor(
    dataDir: string,
    private readonly binlogDir: string,
    private readonly durable: boolean,
  ) {
    this.path = join(dataDir, INIT_FLAG_FILE);
  }

  /**
   * Without the file, a storage whose binlog already has records (it served before replication
   * existed, or the flag was lost) holds data and copies nothing; an empty one is new.
   */
  async load(nowSec: number): Promise<void> {
    const text = await readFile(this.path, 'utf8').catch(() => undefined);
    const saved = text === undefined ? undefined : decode(text);
    if (saved && text !== undefined) {
      this.state = saved;
      for (const [k, v] of keyValues(text)) if (!OWN_KEYS.has(k)) this.extra.set(k, v);
      return;
    }
    const size = await stat(join(this.binlogDir, Binlog.fileName(0))).then(
      (s) => s.size,
      () => 0,
    );
    this.state = { storageJoinTime: nowSec, syncOldDone: size > 0, syncSrcServer: '', syncUntilTimestamp: 0 };
    await this.save();
  }

  /** Another key of the file (e.g. current_trunk_file_id), as text. */
  get(key: string): string | undefined {
    return this.extra.get(key);
  }

  /** Sets another key of the file and saves it. */
  set(key: string, value: string): Promise<void> {
    this.extra.set(key, value);
    return this.save();
  }

  save(): Promise<void> {
    return writeFileAtomic(this.path, encode(this.state, this.extra), this.durable);
  }
}
