/** `fdfs meta get|set`: a file's metadata (name=value pairs kept beside it on the storage). */
import {
  emit,
  expectPositionals,
  metadataOf,
  usageError,
  type Verb,
  type VerbContext,
  withClient,
} from './verb.js';

export const metaVerb: Verb = {
  name: 'meta',
  synopsis: 'get|set <conf> <file_id> [name=value ...]',
  summary: 'read or write the metadata of a file',
  help: `fdfs meta get <client.conf> <file_id> [options]
fdfs meta set <client.conf> <file_id> name=value [name=value ...] [--merge] [options]
  get prints one name=value line per entry, sorted by name; a file without metadata prints
  nothing, and a missing file exits with 2 (ENOENT).
  set replaces all of the file's metadata with the given pairs (no pairs removes it);
  --merge             keep the other entries and add or update only the given names
  Limits (FastDFS'): a name is 1 to 64 bytes, a value at most 256 bytes (UTF-8); a longer one
  is refused with 22 (EINVAL) naming the entry and its size, before anything is sent.
Examples:
  fdfs meta set /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png width=800 height=600
  fdfs meta get /etc/fdfs/client.conf group1/M00/00/00/wKgAZWHAQjiAAm4PAAFEJ0JhBgk569.png --json`,
  options: { merge: { type: 'boolean' } },
  subject: (p) => p[2],
  async run(ctx) {
    const [op] = ctx.positionals;
    const rest = { ...ctx, positionals: ctx.positionals.slice(1) };
    if (op === 'get') return getMeta(rest);
    if (op === 'set') return setMeta(rest);
    throw usageError(
      op === undefined ? 'missing get or set' : `unknown meta operation ${JSON.stringify(op)}`,
    );
  },
};

async function getMeta(ctx: VerbContext): Promise<void> {
  expectPositionals(ctx, ['conf', 'file_id']);
  const fileId = ctx.positionals[1] ?? '';
  const meta = await withClient(ctx, async (client) => {
    const m = await client.getMetadata(fileId);
    // FastDFS answers ENOENT both for "no metadata" and "no file": tell them apart for the exit code.
    if (Object.keys(m).length === 0) await client.fileInfo(fileId, { fromServer: true });
    return m;
  });
  const names = Object.keys(meta).sort();
  const text = names.map((n) => `${n}=${meta[n]}`).join('\n');
  emit(ctx, text, { fileId, metadata: Object.fromEntries(names.map((n) => [n, meta[n]])) });
}

async function setMeta(ctx: VerbContext): Promise<void> {
  if (ctx.positionals.length < 2) expectPositionals(ctx, ['conf', 'file_id']);
  const [, fileId = '', ...pairs] = ctx.positionals;
  const meta = metadataOf(pairs);
  const mode = ctx.values.merge ? 'merge' : 'overwrite';
  if (mode === 'merge' && pairs.length === 0) {
    throw usageError('meta set --merge needs at least one name=value');
  }
  await withClient(ctx, (client) => client.setMetadata(fileId, meta, mode));
  emit(ctx, '', { fileId, mode, metadata: meta });
}
