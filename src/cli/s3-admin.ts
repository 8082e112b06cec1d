/**
 * `fdfs s3 public <bucket>`: lets anonymous clients read a bucket (GET, HEAD, listings), or with
 * --off makes it private again. `fdfs s3 gc`: deletes, through the cluster, every file the
 * namespace released and the endpoint's drain has not yet removed. Both open the namespace directly
 * (lmdb in the data folder allows a second process; PostgreSQL is shared anyway), next to a running
 * endpoint or without one.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FdfsError, Status } from '../common/index.js';
import { type ClientConfig, defaultClientConfig, loadHttpConfig } from '../config/index.js';
import { parse } from './args.js';
import { runGc } from './s3-gc.js';
import { runImport, storageOf } from './s3-import.js';
import { lmdbNamespaceDir, namespaceIsShared, openS3Namespace } from './s3-namespace.js';

export const s3Help = `fdfs s3 public <bucket> [--off] [--base-path DIR | --conf http.conf]
  Makes <bucket> readable without credentials (GET, HEAD and listings; writes still need a
  signature), or private again with --off. The namespace is found in DIR/s3-namespace (default
  ./data, as fdfs start uses) or under the base_path of --conf, or is the PostgreSQL database of
  --conf's s3.namespace (or of --namespace postgres://user@host:port/db, which all three commands
  take).
Example: fdfs s3 public photos --base-path /srv/fdfs

fdfs s3 gc [--base-path DIR --tracker HOST:PORT | --conf http.conf] [--binlog DIR]
           [--group NAME] [--grace SECONDS]
  Deletes, through the tracker (default 127.0.0.1:22122, or the tracker_server lines of --conf),
  every FastDFS file the S3 namespace released (replaced or deleted objects, aborted uploads,
  parts sent again) that the endpoint's drain has not removed yet; then the orphans of uploads
  that crashed between the storage's answer and the commit: each upload records its file's size
  and CRC-32 first, and a file of group NAME (default group1) with those in the storage binlog
  (--binlog, default DIR/storage/data/sync as fdfs start keeps it) that no key names is deleted.
  Intents younger than --grace (default 600 s) are left alone. A released file that cannot be
  deleted now stays queued and the command exits with 5 (EIO).
Example: fdfs s3 gc --base-path /srv/fdfs --tracker 127.0.0.1:22122

fdfs s3 import <bucket> [--group NAME] [--prefix M00/] [--binlog DIR | --storage-conf FILE]
           [--base-path DIR --tracker HOST:PORT | --conf http.conf] [--parallel N] [--restart]
  Registers the files already in FastDFS group NAME (default: the storage.conf's group_name,
  else group1) as keys of <bucket> (which must exist), without copying bytes: the key is the
  file id's path (M00/00/00/...); size, MD5 ETag and CRC-32 come from reading each file once
  through the cluster (--parallel files at once, default 8), x-amz-meta-* from its FastDFS
  metadata, Last-Modified from its upload. The files are found in a storage's binlog (--binlog
  DIR, or the base_path of --storage-conf; default DIR/storage/data/sync as fdfs start keeps
  it): run it beside a storage of the group whose sync is complete. A checkpoint in
  DIR/s3-import lets a stopped run continue, and a later run pick up only the files uploaded,
  changed or deleted since; --restart reads the binlog from its start again (keys already there
  stay as they are). An S3 delete of an imported key never deletes the FastDFS file. Exits with
  5 (EIO) if a file failed, 11 (EAGAIN) if one was deferred behind an S3 upload in flight.
Example: fdfs s3 import legacy --base-path /srv/fdfs --storage-conf /etc/fdfs/storage.conf`;

export async function s3Command(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    off: { type: 'boolean' },
    'base-path': { type: 'string' },
    conf: { type: 'string' },
    tracker: { type: 'string' },
    binlog: { type: 'string' },
    group: { type: 'string' },
    namespace: { type: 'string' },
    grace: { type: 'string' },
    prefix: { type: 'string' },
    'storage-conf': { type: 'string' },
    parallel: { type: 'string' },
    restart: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(`${s3Help}\n`);
    return;
  }
  const [action, bucket] = positionals;
  if (!(((action === 'public' || action === 'import') && bucket) || (action === 'gc' && !bucket)))
    throw new FdfsError(
      Status.EINVAL,
      'usage: fdfs s3 public <bucket> [--off] | fdfs s3 gc | fdfs s3 import <bucket> (see --help)',
    );
  if (values.binlog !== undefined && values['storage-conf'] !== undefined)
    throw new FdfsError(Status.EINVAL, '--binlog and --storage-conf name the same folder: give one');
  const conf = values.conf as string | undefined;
  const tracker = values.tracker as string | undefined;
  if (conf && tracker) throw new FdfsError(Status.EINVAL, '--tracker goes with --base-path, not --conf');
  let client: ClientConfig;
  let setting = '';
  if (conf) {
    const loaded = (await loadHttpConfig(conf)).config;
    client = loaded.client;
    setting = loaded.s3.namespace;
  } else {
    const overrides = new Map([['tracker_server', [tracker ?? '127.0.0.1:22122']]]);
    client = {
      ...defaultClientConfig(overrides).config,
      basePath: resolve((values['base-path'] as string | undefined) ?? 'data'),
    };
  }
  setting = (values.namespace as string | undefined) ?? setting;
  if (setting !== '' && !namespaceIsShared(setting)) {
    throw new FdfsError(Status.EINVAL, '--namespace takes a postgres://user@host:port/database URL');
  }
  const dir = lmdbNamespaceDir(client.basePath);
  // Opening a missing folder would make an empty namespace: say what is wrong instead.
  if (!namespaceIsShared(setting) && !(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new FdfsError(Status.ENOENT, `no S3 namespace in ${dir} (see --base-path)`);
  }
  const storageConf = values['storage-conf'] as string | undefined;
  const storage = storageConf ? await storageOf(storageConf) : undefined;
  const binlogDir =
    storage?.binlogDir ??
    resolve((values.binlog as string | undefined) ?? join(client.basePath, 'storage/data/sync'));
  const group = (values.group as string | undefined) ?? storage?.group ?? 'group1';
  const parallel = Number((values.parallel as string | undefined) ?? 8);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 256)
    throw new FdfsError(Status.EINVAL, '--parallel takes a number of files, 1 to 256');
  const ns = await openS3Namespace(setting, client.basePath);
  if (action === 'import') {
    try {
      await runImport(ns, {
        client,
        bucket: bucket ?? '',
        group,
        prefix: (values.prefix as string | undefined) ?? '',
        binlogDir,
        stateDir: join(client.basePath, 's3-import'),
        restart: values.restart === true,
        parallel,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    } finally {
      await ns.close();
    }
    return;
  }
  if (action === 'gc') {
    const grace = Number((values.grace as string | undefined) ?? 600);
    if (!Number.isFinite(grace) || grace < 0) throw new FdfsError(Status.EINVAL, '--grace takes seconds ≥ 0');
    try {
      await runGc(ns, {
        client,
        binlogDir,
        group,
        graceMs: grace * 1000,
      });
    } finally {
      await ns.close();
    }
    return;
  }
  try {
    const pub = values.off !== true;
    await ns.setBucketPublic(bucket ?? '', pub);
    process.stdout.write(`bucket ${bucket} is now ${pub ? 'public (anonymous reads allowed)' : 'private'}\n`);
  } finally {
    await ns.close();
  }
}
