/**
 * multipart/form-data with busboy, streamed: each `file` part goes to the store as it arrives,
 * never whole in memory. `group` and `meta.<name>` fields apply to the files after them.
 * The outcome waits for every started store to settle — busboy's 'close' comes when parsing
 * ends, before the last write is durable — so a failure can roll back what the request stored.
 */
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { isValidGroupName } from '../fileid/index.js';
import { MAX_META_NAME_LEN, MAX_META_VALUE_LEN } from '../protocol/index.js';
import type { Body } from './body.js';
import { fail } from './errors.js';

export interface PartInfo {
  /** The part's filename, '' when none was given. */
  readonly name: string;
  readonly group: string | undefined;
  readonly meta: Record<string, string>;
}

export interface MultipartLimits {
  readonly maxSize: number;
  readonly maxFiles: number;
  readonly maxFields: number;
}

export interface MultipartOutcome<T> {
  /** Every part stored, also when the request failed (the caller rolls them back). */
  readonly stored: T[];
  readonly error: unknown;
}

const META = 'meta.';

export async function receiveMultipart<T>(
  body: Body,
  contentType: string,
  limits: MultipartLimits,
  store: (file: Readable, info: PartInfo) => Promise<T>,
): Promise<MultipartOutcome<T>> {
  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { 'content-type': contentType },
      defParamCharset: 'utf8', // browsers and curl send UTF-8 file names unencoded
      limits: {
        fileSize: limits.maxSize + 1, // busboy truncates silently at the limit: one byte over = too big
        files: limits.maxFiles,
        fields: limits.maxFields,
        parts: limits.maxFiles + limits.maxFields,
        fieldSize: MAX_META_VALUE_LEN + 1,
        fieldNameSize: META.length + MAX_META_NAME_LEN + 1,
        headerPairs: 32,
      },
    });
  } catch (err) {
    return {
      stored: [],
      error: fail.badRequest(`not a multipart/form-data body: ${(err as Error).message}`),
    };
  }
  const started: Promise<T>[] = [];
  const meta: Record<string, string> = {};
  let group: string | undefined;
  let fieldsSinceFile = 0;
  let failure: unknown;
  let parsed: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    parsed = resolve;
  });
  let stopping = false;
  const stop = (err: unknown) => {
    failure ??= err;
    if (stopping) return;
    stopping = true;
    body.abandon();
    // Next tick: most calls come from inside busboy's own parse loop, which would trip over a
    // parser destroyed under it. Destroying fails the part being written, so its store settles.
    process.nextTick(() => {
      bb.destroy();
      parsed();
    });
  };

  bb.on('field', (name, value, info) => {
    if (failure !== undefined) return;
    fieldsSinceFile++;
    // busboy's types promise a string, but a part whose Content-Disposition has no name gives
    // undefined; name.startsWith below then threw inside busboy's emit and ended the process.
    if (typeof name !== 'string')
      return stop(fail.badRequest('a part has no name in its Content-Disposition'));
    if (info.nameTruncated) return stop(fail.badRequest('a field name is too long'));
    if (name === 'group') {
      if (!isValidGroupName(value)) return stop(fail.badRequest('group must be 1..16 letters or digits'));
      group = value;
      return;
    }
    if (name.startsWith(META)) {
      const key = name.slice(META.length);
      if (key === '' || Buffer.byteLength(key) > MAX_META_NAME_LEN) {
        return stop(fail.badRequest(`metadata names are 1..${MAX_META_NAME_LEN} bytes`));
      }
      if (info.valueTruncated || Buffer.byteLength(value) > MAX_META_VALUE_LEN) {
        return stop(fail.badRequest(`${name}: values are at most ${MAX_META_VALUE_LEN} bytes`));
      }
      meta[key] = value;
      return;
    }
    const why = name === 'file' ? 'part "file" has no filename' : `unknown field ${JSON.stringify(name)}`;
    stop(fail.badRequest(`${why}: expected file parts, group and meta.<name> fields`));
  });

  bb.on('file', (name, file, info) => {
    // busboy destroys a part with an error when the body is cut off; until the store has its
    // pipeline on it (after an await: the temp file opens first) nobody else listens, and an
    // unheard 'error' would end the process. pipeline() still reports an already-errored part.
    file.on('error', () => {});
    if (failure !== undefined) return void file.resume();
    if (name !== 'file') {
      file.resume();
      return stop(fail.badRequest(`file part ${JSON.stringify(name)}: files must be sent as "file"`));
    }
    fieldsSinceFile = 0;
    file.once('limit', () => {
      const err = fail.tooLarge(
        `${info.filename ?? 'a part'} is larger than the ${limits.maxSize}-byte limit`,
      );
      // Deferred: busboy still touches the part's stream right after emitting 'limit'.
      process.nextTick(() => file.destroy(err));
      stop(err);
    });
    const p = store(file, { name: info.filename ?? '', group, meta: { ...meta } });
    p.catch(stop);
    started.push(p);
  });

  bb.on('filesLimit', () => stop(fail.tooLarge(`more than ${limits.maxFiles} files in one request`)));
  bb.on('fieldsLimit', () => stop(fail.tooLarge(`more than ${limits.maxFields} fields in one request`)));
  bb.on('partsLimit', () => stop(fail.tooLarge('too many parts in one request')));
  bb.on('error', (err) => stop(fail.badRequest(`malformed multipart body: ${(err as Error).message}`)));
  bb.on('close', () => parsed());
  body.stream.on('error', (err) => stop(fail.badRequest(`upload interrupted: ${err.message}`)));
  body.stream.pipe(bb);

  await done;
  const results = await Promise.allSettled(started);
  const stored = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failure === undefined) failure = results.find((r) => r.status === 'rejected')?.reason;
  if (failure === undefined && started.length === 0) failure = fail.badRequest('the form has no "file" part');
  if (failure === undefined && fieldsSinceFile > 0) {
    failure = fail.badRequest(
      'fields after the last file apply to no file: send group and meta.<name> first',
    );
  }
  return { stored, error: failure };
}
