/**
 * `fdfs s3 public <bucket>`: lets anonymous clients read a bucket (GET, HEAD, listings), or with
 * --off makes it private again. It edits the namespace in the data folder directly (lmdb allows a
 * second process), so the running endpoint sees the change at its next request.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FdfsError, Status } from '../common/index.js';
import { loadHttpConfig } from '../config/index.js';
import { openLmdbNamespace } from '../namespace/index.js';
import { parse } from './args.js';

export const s3Help = `fdfs s3 public <bucket> [--off] [--base-path DIR | --conf http.conf]
  Makes <bucket> readable without credentials (GET, HEAD and listings; writes still need a
  signature), or private again with --off. The namespace is found in DIR/s3-namespace (default
  ./data, as fdfs start uses) or under the base_path of --conf.
Example: fdfs s3 public photos --base-path /srv/fdfs`;

export async function s3Command(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    off: { type: 'boolean' },
    'base-path': { type: 'string' },
    conf: { type: 'string' },
  });
  if (values.help) {
    process.stdout.write(`${s3Help}\n`);
    return;
  }
  const [action, bucket] = positionals;
  if (action !== 'public' || !bucket)
    throw new FdfsError(Status.EINVAL, 'usage: fdfs s3 public <bucket> [--off] (see --help)');
  const conf = values.conf as string | undefined;
  const base = conf
    ? (await loadHttpConfig(conf)).config.client.basePath
    : resolve((values['base-path'] as string | undefined) ?? 'data');
  const dir = join(base, 's3-namespace');
  // Opening a missing folder would make an empty namespace: say what is wrong instead.
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new FdfsError(Status.ENOENT, `no S3 namespace in ${dir} (see --base-path)`);
  }
  const ns = await openLmdbNamespace(dir);
  try {
    const pub = values.off !== true;
    await ns.setBucketPublic(bucket, pub);
    process.stdout.write(`bucket ${bucket} is now ${pub ? 'public (anonymous reads allowed)' : 'private'}\n`);
  } finally {
    await ns.close();
  }
}
