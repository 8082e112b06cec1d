/**
 * The interop recordings of test/data/interop (issue 12): what stock FastDFS 6.16.1 daemons sent
 * each other, captured by recorder.ts, replayed by replay.ts against ours.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface RecordedPacket {
  /** req: client → server; resp: server → client. */
  readonly dir: 'req' | 'resp';
  /** ms since the recording started. */
  readonly t: number;
  readonly cmd: number;
  readonly status: number;
  readonly len: number;
  /** The body as hex, cut at MAX_BODY bytes (then `cut` is true). */
  readonly body: string;
  readonly cut?: boolean;
}

export interface RecordedConnection {
  readonly id: number;
  /** The daemon that opened the connection (a node name, or the address for others). */
  readonly client: string;
  readonly clientAddr: string;
  readonly server: string;
  readonly serverAddr: string;
  readonly opened: number;
  closed?: number;
  readonly packets: RecordedPacket[];
  /** Routine requests (beats, reports, pings, active tests) past the first few, by cmd, not kept. */
  readonly skipped: Record<string, number>;
}

export interface Recording {
  readonly format: 'fastdfs-interop-recording/1';
  readonly recorded: string;
  readonly note: string;
  readonly nodes: Record<string, string>;
  readonly connections: RecordedConnection[];
}

/** From test/interop when run from source, from dist/test/interop when compiled. */
const ROOT = existsSync(resolve(import.meta.dirname, '../../package.json'))
  ? resolve(import.meta.dirname, '../..')
  : resolve(import.meta.dirname, '../../..');
const DATA = join(ROOT, 'test', 'data', 'interop');

/** A checked-in recording by scene name (plain, ids). Test startup code: a sync read is fine. */
export function loadRecording(scene: string): Recording {
  const path = join(DATA, `${scene}.json`);
  const r = JSON.parse(readFileSync(path, 'utf8')) as Recording;
  if (r.format !== 'fastdfs-interop-recording/1') throw new Error(`${path}: unknown format ${r.format}`);
  return r;
}
