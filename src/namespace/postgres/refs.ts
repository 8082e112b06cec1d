/**
 * File references, the garbage queue and upload intents of the PostgreSQL store. A write adds one
 * reference per part it names and drops one per part it replaces, in its own transaction; a file
 * whose count reaches 0 enters the queue in that same commit, and one named again leaves it. A
 * drain on any gateway takes the queue's head, deletes the files from FastDFS, then acknowledges:
 * a crash in between only repeats a delete (of a file already gone, which counts as done).
 */
import type { ObjectPart, UploadIntent } from '../types.js';
import { Batcher } from './batch.js';
import { type PgStore, query, type Sql, tx } from './db.js';

/**
 * Inside a transaction: +1 for each part of `gained`, −1 for each of `lost` (apply_refs in
 * functions.ts: netted per file, applied in file-id order; 0 → queued unless borrowed).
 */
export async function applyRefs(
  c: Sql,
  gained: readonly Pick<ObjectPart, 'fileId' | 'borrowed'>[],
  lost: readonly Pick<ObjectPart, 'fileId'>[],
): Promise<void> {
  if (gained.length === 0 && lost.length === 0) return;
  await c.query('SELECT apply_refs($1::text[], $2::boolean[], $3::text[])', [
    gained.map((p) => p.fileId),
    gained.map((p) => p.borrowed === true),
    lost.map((p) => p.fileId),
  ]);
}

/**
 * Inside a transaction: whether every file is still named, with each counter locked until commit,
 * so a release racing this write (a CopyObject's source deleted) waits for it or is seen by it.
 */
export async function allReferenced(c: Sql, fileIds: readonly string[]): Promise<boolean> {
  const want = [...new Set(fileIds)].sort();
  if (want.length === 0) return true;
  const rows = await c.query(
    'SELECT file_id FROM refs WHERE file_id = ANY($1::text[]) AND n > 0 ORDER BY file_id FOR SHARE',
    [want],
  );
  return rows.rowCount === want.length;
}

/** isReferenced of one gateway: asks that arrive together (the intent sweep's) share a statement. */
export function referenceChecker(s: PgStore): (fileId: string) => Promise<boolean> {
  const batcher = new Batcher<string, boolean>(async (ids) => {
    const rows = await query<{ file_id: string }>(
      s,
      'SELECT file_id FROM refs WHERE file_id = ANY($1::text[]) AND (n > 0 OR borrowed)',
      [[...new Set(ids)]],
    );
    const named = new Set(rows.map((r) => r.file_id));
    return ids.map((id) => named.has(id));
  }, 1000);
  return (fileId) => batcher.add(fileId);
}

export async function takeGarbage(
  s: PgStore,
  max: number,
): Promise<readonly { seq: number; fileId: string }[]> {
  if (max <= 0) return [];
  const rows = await query<{ seq: number; file_id: string }>(
    s,
    'SELECT seq, file_id FROM garbage ORDER BY seq LIMIT $1',
    [Math.min(Math.floor(max), 1_000_000)],
  );
  return rows.map((r) => ({ seq: r.seq, fileId: r.file_id }));
}

const validSeqs = (seqs: readonly number[]) =>
  seqs.filter((n) => Number.isSafeInteger(n) && n > 0 && n < 2 ** 62);

/** Forgets acknowledged entries, and the zero counters of their files (unless named again since). */
export async function ackGarbage(s: PgStore, seqs: readonly number[]): Promise<void> {
  const valid = validSeqs(seqs);
  if (valid.length === 0) return;
  await tx(s, (c) =>
    c.query(
      `WITH gone AS (DELETE FROM garbage WHERE seq = ANY($1::bigint[]) RETURNING file_id)
       DELETE FROM refs WHERE n = 0 AND NOT borrowed AND file_id IN (SELECT file_id FROM gone)`,
      [valid],
    ),
  );
}

interface IntentInput {
  readonly intent: Omit<UploadIntent, 'id'>;
  readonly finished: readonly number[];
}

const INTENT_BATCH = 1000;

/**
 * recordIntent of one gateway: intents that arrive together share one statement (batch.ts).
 *
 * The commit does not wait for its WAL flush (synchronous_commit off for that one transaction; a
 * key's commit keeps the server's setting). Committed is enough for what an intent is for: every
 * gateway and gc see it at once, a gateway killed now loses nothing (the row is in the server),
 * and the key's commit, which does wait, flushes the log up to itself and so every intent before
 * it (WAL is one ordered log). Only a crash of the database server in the WAL writer's next
 * interval, before the key commits, can lose one: that PUT was not answered, and what is left is
 * at worst a file gc cannot find (space, never a key naming missing bytes). It spares each
 * PutObject one of its two waits for the disk.
 */
export function intentWriter(
  s: PgStore,
): (intent: Omit<UploadIntent, 'id'>, finished?: readonly number[]) => Promise<number> {
  const batcher = new Batcher<IntentInput, number>((batch) => insertIntents(s, batch), INTENT_BATCH);
  return (intent, finished = []) => batcher.add({ intent, finished: validSeqs(finished) });
}

/** Inserts the batch's intents in its order; their ids, in that order (a sequence only grows). */
async function insertIntents(s: PgStore, batch: readonly IntentInput[]): Promise<number[]> {
  const rows = await query<{ id: number }>(
    s,
    'SELECT record_intents($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS id',
    [
      batch.map((p) => p.intent.group),
      batch.map((p) => p.intent.size),
      batch.map((p) => p.intent.crc32),
      batch.map((p) => p.intent.at),
      batch.flatMap((p) => p.finished),
    ],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

export async function listIntents(s: PgStore, max: number): Promise<readonly UploadIntent[]> {
  if (max <= 0) return [];
  const rows = await query<{ id: number; grp: string; size: number; crc32: number; at: number }>(
    s,
    'SELECT id, grp, size, crc32, at FROM intents ORDER BY id LIMIT $1',
    [Math.min(Math.floor(max), Number.MAX_SAFE_INTEGER)],
  );
  return rows.map((r) => ({ id: r.id, group: r.grp, size: r.size, crc32: r.crc32, at: r.at }));
}

export async function clearIntents(s: PgStore, ids: readonly number[]): Promise<void> {
  const valid = validSeqs(ids);
  if (valid.length === 0) return;
  await query(s, 'DELETE FROM intents WHERE id = ANY($1::bigint[])', [valid]);
}
