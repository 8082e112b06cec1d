/**
 * The tables of the PostgreSQL store, created and migrated at start. `version` holds the number of
 * the last migration applied; each start applies the ones after it, in one transaction under an
 * advisory lock, so gateways starting together migrate once. Keys, bucket names and upload ids are
 * `COLLATE "C"`: comparison by bytes of UTF-8, which is S3's listing order.
 */
import { FdfsError, Status } from '../../common/index.js';
import { type PgStore, quoteIdent, tx } from './db.js';
import {
  BATCH_FUNCTIONS,
  BUCKET_NOTICES,
  CACHED_REF_FUNCTIONS,
  FAST_BATCH_FUNCTIONS,
  INTENT_FUNCTIONS,
  WRITE_FUNCTIONS,
} from './functions.js';

const MIGRATIONS: readonly string[] = [
  // 1: everything the Namespace contract holds.
  `
  CREATE TABLE buckets (
    name text COLLATE "C" PRIMARY KEY,
    owner text NOT NULL,
    created_at bigint NOT NULL,
    grp text,
    public boolean NOT NULL
  );
  CREATE TABLE objects (
    bucket text COLLATE "C" NOT NULL REFERENCES buckets (name),
    key text COLLATE "C" NOT NULL,
    parts jsonb NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    last_modified bigint NOT NULL,
    content_type text NOT NULL,
    headers jsonb NOT NULL,
    meta jsonb NOT NULL,
    checksum jsonb,
    PRIMARY KEY (bucket, key)
  );
  CREATE TABLE uploads (
    upload_id text COLLATE "C" PRIMARY KEY,
    bucket text COLLATE "C" NOT NULL REFERENCES buckets (name),
    key text COLLATE "C" NOT NULL,
    owner text NOT NULL,
    initiated_at bigint NOT NULL,
    content_type text NOT NULL,
    headers jsonb NOT NULL,
    meta jsonb NOT NULL,
    grp text
  );
  CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
  CREATE TABLE parts (
    upload_id text COLLATE "C" NOT NULL REFERENCES uploads (upload_id),
    part_number integer NOT NULL,
    file_id text NOT NULL,
    size bigint NOT NULL,
    etag text NOT NULL,
    last_modified bigint NOT NULL,
    PRIMARY KEY (upload_id, part_number)
  );
  -- How many object parts and upload parts name each file; 0 while it waits in the garbage queue
  -- (the row goes when the drain acknowledges it).
  CREATE TABLE refs (
    file_id text PRIMARY KEY,
    n integer NOT NULL
  );
  CREATE TABLE garbage (
    seq bigserial PRIMARY KEY,
    file_id text NOT NULL UNIQUE
  );
  CREATE TABLE completed (
    upload_id text PRIMARY KEY,
    bucket text NOT NULL,
    key text NOT NULL,
    etag text NOT NULL,
    completed_at bigint NOT NULL
  );
  CREATE INDEX completed_by_time ON completed (completed_at);
  CREATE TABLE intents (
    id bigserial PRIMARY KEY,
    grp text NOT NULL,
    size bigint NOT NULL,
    crc32 bigint NOT NULL,
    at bigint NOT NULL
  );
  -- The smallest string above every string that starts with p (NULL: none), by code point, which is
  -- UTF-8 byte order: the listing's skip-scan seeks there to step past a whole common prefix.
  CREATE FUNCTION key_successor(p text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
  DECLARE c integer;
  BEGIN
    WHILE length(p) > 0 LOOP
      c := ascii(right(p, 1));
      p := left(p, -1);
      IF c < 1114111 THEN
        c := c + 1;
        IF c = 55296 THEN c := 57344; END IF;
        RETURN p || chr(c);
      END IF;
    END LOOP;
    RETURN NULL;
  END $f$;
  -- Where a listing walks on after key k: past k's whole common prefix when k holds the delimiter
  -- after the listing's prefix (of \`skip\` characters), else the next string after k itself (text
  -- holds no U+0000, so nothing lies between k and k || U+0001).
  CREATE FUNCTION list_next(k text, skip integer, delim text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE WHEN delim <> '' AND strpos(substr(k, skip + 1), delim) > 0
      THEN key_successor(left(k, skip + strpos(substr(k, skip + 1), delim) + length(delim) - 1))
      ELSE k || chr(1) END
  $f$;
  `,
  // 2: files borrowed by fdfs s3 import (ObjectPart.borrowed): marked for good, never queued.
  `
  ALTER TABLE refs ADD COLUMN borrowed boolean NOT NULL DEFAULT false;
  `,
  // 3: PutObject, DeleteObject and reference counting as functions: one round trip each.
  WRITE_FUNCTIONS,
  // 4: reference counting in PL/pgSQL, whose plans outlive a call.
  CACHED_REF_FUNCTIONS,
  // 5: plain PutObjects that arrive together, in one statement.
  BATCH_FUNCTIONS,
  // 6: bucket changes announced, for the gateways' bucket caches.
  BUCKET_NOTICES,
  // 7: a batch of new keys of new files in two inserts.
  FAST_BATCH_FUNCTIONS,
  // 8: intents through a function, whose plans are kept.
  INTENT_FUNCTIONS,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Creates the schema and applies the migrations it lacks; refuses a database newer than this code. */
export async function migrate(s: PgStore, schema: string): Promise<void> {
  await tx(s, async (c) => {
    // A migration over a large table (an index build), and the wait for another gateway's, may
    // take longer than a request's statement timeout: none for this transaction.
    await c.query('SET LOCAL statement_timeout = 0');
    // One migrator at a time per schema; the lock goes with the transaction.
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`fdfs-namespace:${schema}`]);
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await c.query('CREATE TABLE IF NOT EXISTS version (version integer NOT NULL)');
    const rows = (await c.query<{ version: number }>('SELECT version FROM version')).rows;
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new FdfsError(
        Status.EINVAL,
        `the namespace schema ${schema} is at version ${current}, newer than this fdfs (${SCHEMA_VERSION})`,
      );
    }
    for (let v = current; v < SCHEMA_VERSION; v++) await c.query(MIGRATIONS[v] as string);
    if (rows.length === 0) await c.query('INSERT INTO version VALUES ($1)', [SCHEMA_VERSION]);
    else await c.query('UPDATE version SET version = $1', [SCHEMA_VERSION]);
  });
}
