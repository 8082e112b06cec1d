/** `fdfs upload` (and `fdfs_upload_file`): a local file in, its file id out. */
import { basename } from 'node:path';
import {
  extOfPath,
  type FdfsClient,
  normalizeExt,
  resolveSource,
  StorageClient,
  type UploadSource,
} from '../client/index.js';
import { type HostPort, parseHostPort, STORAGE_DEFAULT_PORT } from '../config/index.js';
import { formatFileId } from '../fileid/index.js';
import { STORE_PATH_AUTO } from '../protocol/index.js';
import { localSource } from './transfer.js';
import {
  emit,
  expectPositionals,
  metadataOf,
  nonNegativeInt,
  usageError,
  type Verb,
  type VerbContext,
  withClient,
} from './verb.js';

const options = {
  meta: { type: 'string', multiple: true },
  group: { type: 'string' },
  ext: { type: 'string' },
  appender: { type: 'boolean' },
} as const;

const optionHelp = `  --meta name=value   set metadata on the new file (repeatable; names up to 64 bytes, values up
                      to 256); the file is removed again if setting it fails
  --group NAME        upload into this group (the tracker picks one otherwise)
  --ext EXT           extension for the file id (default: the local file's, up to 6 chars)`;

export const uploadVerb: Verb = {
  name: 'upload',
  synopsis: '<conf> <local_file> [storage_ip:port] [store_path_index]',
  summary: 'upload a file, print its file id (fdfs_upload_file)',
  help: `fdfs upload <client.conf> <local_file> [storage_ip:port] [store_path_index] [options]
  Uploads a local file and prints its file id, as fdfs_upload_file does. The file is streamed.
  With storage_ip:port the file goes straight to that storage (no tracker query), into
  store_path_index when given, else into the path the storage picks.
${optionHelp}
  --appender          store an appender file (see fdfs append)
Examples:
  fdfs upload /etc/fdfs/client.conf photo.jpg --meta width=800 --meta author=ann
  fdfs upload /etc/fdfs/client.conf big.iso 10.0.0.5:23000 0`,
  options,
  subject: (p) => p[1],
  run: (ctx) => runUpload(ctx, ctx.values.appender === true),
};

/** Shared by `upload` and `upload-appender`. */
export async function runUpload(ctx: VerbContext, appender: boolean): Promise<void> {
  expectPositionals(ctx, ['conf', 'local_file'], ['storage_ip:port', 'store_path_index']);
  const [, path = '', address, indexText] = ctx.positionals;
  const meta = metadataOf((ctx.values.meta as string[] | undefined) ?? []);
  const group = ctx.values.group as string | undefined;
  const ext = normalizeExt((ctx.values.ext as string | undefined) ?? extOfPath(path));
  const storage = address === undefined ? undefined : parseHostPort(address, STORAGE_DEFAULT_PORT);
  if (address !== undefined && !storage)
    throw usageError(`storage ${JSON.stringify(address)}: expected ip:port`);
  if (storage && group !== undefined) throw usageError('--group cannot be combined with a storage address');
  const storePathIndex =
    indexText === undefined ? STORE_PATH_AUTO : nonNegativeInt(indexText, 'store_path_index', 254);
  const local = await localSource(ctx, path, basename(path));
  const fileId = await withClient(ctx, (client) => {
    const opts = { ext, appender, metadata: meta };
    if (!storage) return client.upload(local.source, { ...opts, ...(group === undefined ? {} : { group }) });
    return uploadTo(client, storage, storePathIndex, local.source, opts);
  });
  emit(ctx, fileId, { fileId, localFile: path, size: local.size, appender });
}

/** Straight to one storage, as `fdfs_upload_file <conf> <file> ip:port [index]` does. */
async function uploadTo(
  client: FdfsClient,
  storage: HostPort,
  storePathIndex: number,
  source: UploadSource,
  opts: { ext: string; appender: boolean; metadata: Record<string, string> },
): Promise<string> {
  const content = await resolveSource(source);
  const req = { storePathIndex, ext: opts.ext, content, appender: opts.appender };
  const stored = await client.pool.use(storage, (c) => new StorageClient(c).upload(req));
  const fileId = formatFileId(stored.group, stored.remote);
  if (Object.keys(opts.metadata).length === 0) return fileId;
  try {
    await client.pool.use(storage, (c) =>
      new StorageClient(c).setMetadata(stored.group, stored.remote, opts.metadata, 'overwrite'),
    );
  } catch (err) {
    // As the C client does: no file without the metadata it was uploaded with.
    await client.pool
      .use(storage, (c) => new StorageClient(c).delete(stored.group, stored.remote))
      .catch(() => {});
    throw err;
  }
  return fileId;
}
