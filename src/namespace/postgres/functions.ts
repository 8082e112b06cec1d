/**
 * Migration 3: the write paths as server-side functions, so a PutObject or DeleteObject is one
 * round trip (and one commit) instead of a transaction of six statements: node-postgres sends one
 * statement at a time, and on a busy machine each round trip costs more than the statement itself.
 * The logic is the one objects.ts describes: the key's row locked before its condition is checked,
 * a racing insert of the same new key retried, references moved from old parts to new in file-id
 * order. A refused requireUnknown raises FDPF1 (so its claims roll back with the statement).
 */
export const WRITE_FUNCTIONS = `
  -- +1 per gained part, -1 per lost one, netted per file; 0 → queued unless borrowed, > 0 → unqueued.
  CREATE FUNCTION apply_refs(gained text[], gained_borrowed boolean[], lost text[]) RETURNS void
  LANGUAGE sql AS $f$
    WITH d AS (
      SELECT f, sum(x)::integer AS x, bool_or(b) AS b FROM (
        SELECT f, 1 AS x, coalesce(b, false) AS b FROM unnest(gained, gained_borrowed) AS g(f, b)
        UNION ALL
        SELECT f, -1, false FROM unnest(lost) AS l(f)
      ) t GROUP BY f
    ),
    counted AS (
      INSERT INTO refs (file_id, n, borrowed) SELECT f, greatest(x, 0), b FROM d ORDER BY f
      ON CONFLICT (file_id) DO UPDATE
        SET n = greatest(refs.n + (SELECT x FROM d WHERE d.f = excluded.file_id), 0),
            borrowed = refs.borrowed OR excluded.borrowed
      RETURNING file_id, n, borrowed
    ),
    unqueued AS (DELETE FROM garbage WHERE file_id IN (SELECT file_id FROM counted WHERE n > 0 OR borrowed))
    INSERT INTO garbage (file_id) SELECT file_id FROM counted WHERE n = 0 AND NOT borrowed ORDER BY file_id
    ON CONFLICT (file_id) DO NOTHING
  $f$;

  CREATE FUNCTION part_ids(parts jsonb) RETURNS text[] LANGUAGE sql IMMUTABLE AS $f$
    SELECT coalesce(array_agg(p->>'fileId'), '{}') FROM jsonb_array_elements(coalesce(parts, '[]')) AS p
  $f$;

  -- o: the record as JSON (parts, size, etag, lastModified, contentType, headers, meta, checksum).
  -- also_lost: more files losing a reference in the same commit (a completed upload's parts).
  CREATE FUNCTION put_object(b text, k text, o jsonb, if_none_match boolean, if_match text,
                             req_ref text[], req_unknown text[], also_lost text[]) RETURNS text
  LANGUAGE plpgsql AS $f$
  DECLARE
    old_etag text;
    old_parts jsonb;
    found_old boolean;
    claimed integer;
  BEGIN
    LOOP
      SELECT etag, parts INTO old_etag, old_parts FROM objects WHERE bucket = b AND key = k FOR UPDATE;
      found_old := FOUND;
      IF NOT found_old AND NOT EXISTS (SELECT 1 FROM buckets WHERE name = b) THEN RETURN 'no-bucket'; END IF;
      IF if_none_match AND found_old THEN RETURN 'precondition-failed'; END IF;
      IF if_match IS NOT NULL AND (NOT found_old OR old_etag <> if_match) THEN RETURN 'precondition-failed'; END IF;
      -- Each shared file still named, its counter locked so a racing release waits for this commit.
      IF cardinality(req_ref) > 0 AND
         (SELECT count(*) FROM (SELECT 1 FROM refs WHERE file_id = ANY(req_ref) AND n > 0
                                ORDER BY file_id FOR SHARE) r) <> (SELECT count(DISTINCT f) FROM unnest(req_ref) f)
      THEN
        RETURN 'precondition-failed';
      END IF;
      IF found_old THEN
        UPDATE objects SET parts = o->'parts', size = (o->>'size')::bigint, etag = o->>'etag',
          last_modified = (o->>'lastModified')::bigint, content_type = o->>'contentType',
          headers = o->'headers', meta = o->'meta', checksum = o->'checksum'
        WHERE bucket = b AND key = k;
        EXIT;
      END IF;
      INSERT INTO objects (bucket, key, parts, size, etag, last_modified, content_type, headers, meta, checksum)
      VALUES (b, k, o->'parts', (o->>'size')::bigint, o->>'etag', (o->>'lastModified')::bigint,
              o->>'contentType', o->'headers', o->'meta', o->'checksum')
      ON CONFLICT (bucket, key) DO NOTHING;
      -- Another writer created the key meanwhile (this insert waited for its commit): again, locked.
      EXIT WHEN FOUND;
    END LOOP;
    -- Files the namespace never heard of, claimed with a counter row at 0 (a racing writer of the
    -- same file waits for this commit).
    IF cardinality(req_unknown) > 0 THEN
      WITH made AS (
        INSERT INTO refs (file_id, n) SELECT DISTINCT f, 0 FROM unnest(req_unknown) f ORDER BY 1
        ON CONFLICT (file_id) DO NOTHING RETURNING 1
      ) SELECT count(*) INTO claimed FROM made;
      IF claimed <> (SELECT count(DISTINCT f) FROM unnest(req_unknown) f) THEN
        RAISE EXCEPTION 'a file is already known to the namespace' USING ERRCODE = 'FDPF1';
      END IF;
    END IF;
    PERFORM apply_refs(
      part_ids(o->'parts'),
      ARRAY(SELECT coalesce((p->>'borrowed')::boolean, false) FROM jsonb_array_elements(o->'parts') AS p),
      part_ids(old_parts) || coalesce(also_lost, '{}'));
    RETURN 'ok';
  END $f$;

  CREATE FUNCTION delete_object(b text, k text) RETURNS boolean LANGUAGE plpgsql AS $f$
  DECLARE
    old_parts jsonb;
  BEGIN
    DELETE FROM objects WHERE bucket = b AND key = k RETURNING parts INTO old_parts;
    IF NOT FOUND THEN RETURN false; END IF;
    PERFORM apply_refs('{}', '{}', part_ids(old_parts));
    RETURN true;
  END $f$;
`;

/**
 * Migration 4: apply_refs and part_ids in PL/pgSQL, same statements. A LANGUAGE sql function that
 * is not inlined (a data-modifying CTE never is) is parsed and planned again on every call; PL/pgSQL
 * keeps its plans for the life of the connection. Measured: 1.3–1.5 ms of PostgreSQL CPU per
 * put_object before, 0.6–0.7 ms after, on the shared bench machine.
 */
export const CACHED_REF_FUNCTIONS = `
  CREATE OR REPLACE FUNCTION apply_refs(gained text[], gained_borrowed boolean[], lost text[]) RETURNS void
  LANGUAGE plpgsql AS $f$
  BEGIN
    WITH d AS (
      SELECT f, sum(x)::integer AS x, bool_or(b) AS b FROM (
        SELECT f, 1 AS x, coalesce(b, false) AS b FROM unnest(gained, gained_borrowed) AS g(f, b)
        UNION ALL
        SELECT f, -1, false FROM unnest(lost) AS l(f)
      ) t GROUP BY f
    ),
    counted AS (
      INSERT INTO refs (file_id, n, borrowed) SELECT f, greatest(x, 0), b FROM d ORDER BY f
      ON CONFLICT (file_id) DO UPDATE
        SET n = greatest(refs.n + (SELECT x FROM d WHERE d.f = excluded.file_id), 0),
            borrowed = refs.borrowed OR excluded.borrowed
      RETURNING file_id, n, borrowed
    ),
    unqueued AS (DELETE FROM garbage WHERE file_id IN (SELECT file_id FROM counted WHERE n > 0 OR borrowed))
    INSERT INTO garbage (file_id) SELECT file_id FROM counted WHERE n = 0 AND NOT borrowed ORDER BY file_id
    ON CONFLICT (file_id) DO NOTHING;
  END $f$;

  CREATE OR REPLACE FUNCTION part_ids(parts jsonb) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $f$
  BEGIN
    RETURN (SELECT coalesce(array_agg(p->>'fileId'), '{}')
            FROM jsonb_array_elements(coalesce(parts, '[]')) AS p);
  END $f$;
`;

/**
 * Migration 5: put_object over a batch, one call after the other in one transaction (objects.ts
 * sends the plain PutObjects that arrive together this way: one round trip and one commit for all).
 */
export const BATCH_FUNCTIONS = `
  CREATE FUNCTION put_objects(b text[], k text[], o jsonb[], if_none_match boolean[], if_match text[])
  RETURNS text[] LANGUAGE plpgsql AS $f$
  DECLARE
    r text[] := '{}';
  BEGIN
    FOR i IN 1 .. coalesce(cardinality(k), 0) LOOP
      r := r || put_object(b[i], k[i], o[i], if_none_match[i], if_match[i], NULL, NULL, NULL);
    END LOOP;
    RETURN r;
  END $f$;
`;

/**
 * Migration 6: every change to a bucket row is announced (bucket-cache.ts), whichever client makes
 * it; the notice goes out when its transaction commits, and not at all if it rolls back.
 */
export const BUCKET_NOTICES = `
  CREATE FUNCTION bucket_changed() RETURNS trigger LANGUAGE plpgsql AS $f$
  DECLARE
    name text;
  BEGIN
    IF TG_OP = 'DELETE' THEN name := OLD.name; ELSE name := NEW.name; END IF;
    PERFORM pg_notify('fdfs_s3_buckets', TG_TABLE_SCHEMA || '/' || name);
    RETURN NULL;
  END $f$;
  CREATE TRIGGER buckets_changed AFTER INSERT OR UPDATE OR DELETE ON buckets
    FOR EACH ROW EXECUTE FUNCTION bucket_changed();
`;

/**
 * Migration 7: put_objects with a fast path for its common batch, new keys of new files with no
 * If-Match: the keys probed (and any already there locked), then two plain inserts for the whole
 * batch, no per-row function calls. put_object's per-row work cost about 130 µs of database CPU
 * per PutObject against 30-80 µs this way (batches of 32 and of 6), and on a shared machine every
 * µs the database spends preempts the gateway. A batch with a key already there, a key twice or an If-Match goes
 * through put_object row by row as before. A key or file another writer made meanwhile, or a
 * bucket deleted, fails the insert (unique or foreign key) and so the whole statement: objects.ts
 * then sends each write alone through put_object, which answers each one exactly.
 */
export const FAST_BATCH_FUNCTIONS = `
  CREATE OR REPLACE FUNCTION put_objects(b text[], k text[], o jsonb[], if_none_match boolean[], if_match text[])
  RETURNS text[] LANGUAGE plpgsql AS $f$
  DECLARE
    n integer := coalesce(cardinality(k), 0);
    r text[] := '{}';
  BEGIN
    IF n > 1
       AND (SELECT bool_and(m IS NULL) FROM unnest(if_match) m)
       AND (SELECT count(*) FROM (SELECT DISTINCT x, y FROM unnest(b, k) AS t(x, y)) d) = n
       -- Keys already there are locked here too, in (bucket, key) order, as put_object would.
       AND NOT EXISTS (SELECT 1 FROM unnest(b, k) AS i(bk, kk)
                        CROSS JOIN LATERAL (SELECT 1 FROM objects
                                             WHERE bucket = i.bk AND key = i.kk FOR UPDATE) obj)
    THEN
      INSERT INTO objects (bucket, key, parts, size, etag, last_modified, content_type, headers, meta, checksum)
      SELECT i.bk, i.kk, i.oo->'parts', (i.oo->>'size')::bigint, i.oo->>'etag',
             (i.oo->>'lastModified')::bigint, i.oo->>'contentType', i.oo->'headers', i.oo->'meta',
             i.oo->'checksum'
        FROM unnest(b, k, o) AS i(bk, kk, oo)
       ORDER BY i.bk, i.kk;
      INSERT INTO refs (file_id, n, borrowed)
      SELECT p->>'fileId', count(*), bool_or(coalesce((p->>'borrowed')::boolean, false))
        FROM unnest(o) AS i(oo), jsonb_array_elements(i.oo->'parts') AS p
       GROUP BY 1 ORDER BY 1;
      RETURN array_fill('ok'::text, ARRAY[n]);
    END IF;
    FOR i IN 1 .. n LOOP
      r := r || put_object(b[i], k[i], o[i], if_none_match[i], if_match[i], NULL, NULL, NULL);
    END LOOP;
    RETURN r;
  END $f$;
`;

/**
 * Migration 8: the intents' statement as a function. Sent as plain SQL (a CTE over unnest) it was
 * parsed and planned on every call; PL/pgSQL keeps the plans for the connection's life, which
 * measured 35-45% less database CPU per intent (59 → 34 µs at batches of 6). The commit does not
 * wait for its WAL flush (refs.ts says why): set_config's is_local lasts to the transaction's end.
 */
export const INTENT_FUNCTIONS = `
  CREATE FUNCTION record_intents(g text[], n bigint[], c bigint[], t bigint[], cleared bigint[])
  RETURNS SETOF bigint LANGUAGE plpgsql AS $f$
  BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF cardinality(cleared) > 0 THEN
      DELETE FROM intents WHERE id = ANY (cleared);
    END IF;
    RETURN QUERY
      INSERT INTO intents (grp, size, crc32, at)
      SELECT x.g, x.n, x.c, x.t FROM unnest(g, n, c, t) WITH ORDINALITY AS x(g, n, c, t, o) ORDER BY x.o
      RETURNING id;
  END $f$;
`;
