/**
 * The S3 endpoint beside a gateway (fdfs start, fdfs gateway, fdfs storage --http-port): its
 * namespace (lmdb under the data folder, or the PostgreSQL database s3.namespace names), its credentials from http.conf, or — on a loopback-only
 * `fdfs start` with none set — one pair made once, kept mode 0600 in the data folder.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FdfsError, type Logger, Status } from '../common/index.js';
import type { HttpConfig, S3Credential } from '../config/index.js';
import type { LocalStore, RemoteStore } from '../gateway/index.js';
import {
  formatCredential,
  generateCredential,
  parseCredential,
  type S3Handle,
  startS3,
} from '../s3/index.js';
import { binlogLines } from './s3-gc.js';
import { openS3Namespace } from './s3-namespace.js';

export const S3_DEFAULT_PORT = 9000;

export interface S3EndpointOptions {
  readonly config: HttpConfig;
  /** The data folder: <base>/s3-namespace, <base>/s3-tmp, <base>/s3-credentials. */
  readonly base: string;
  readonly host: string;
  readonly local?: LocalStore;
  readonly remote?: RemoteStore;
  readonly logger: Logger;
  /** fdfs start on a loopback-only node: make a credential when none is set. */
  readonly makeCredential?: boolean;
  /** Where a credential made now is announced (once). */
  readonly announce?: (line: string) => void;
  readonly maxConnections?: number;
  /** The local storage's binlog folder: the endpoint then runs its periodic orphan pass. */
  readonly binlogDir?: string;
}

export interface S3Endpoint {
  readonly address: { readonly host: string; readonly port: number };
  readonly handle: S3Handle;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host === 'localhost';
}

/** The pair kept in `path`, or a new one written there (mode 0600) and announced once. */
async function keptCredential(path: string, announce: (line: string) => void): Promise<S3Credential> {
  try {
    return parseCredential((await readFile(path, 'utf8')).trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new FdfsError(Status.EINVAL, `${path}: not an ACCESS_KEY:SECRET_KEY line`, { cause: err });
    }
  }
  const made = generateCredential();
  await writeFile(path, `${formatCredential(made)}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  announce(
    `fdfs s3 credential (made once, kept in ${path}): access_key=${made.accessKey} secret_key=${made.secretKey}`,
  );
  return made;
}

export async function startS3Endpoint(o: S3EndpointOptions): Promise<S3Endpoint> {
  const s3 = o.config.s3;
  if (s3.port === null) throw new FdfsError(Status.EINVAL, 's3.server_port is not set');
  let credentials = s3.credentials;
  if (credentials.length === 0 && o.makeCredential && isLoopback(o.host)) {
    credentials = [await keptCredential(join(o.base, 's3-credentials'), o.announce ?? (() => {}))];
  }
  if (credentials.length === 0) {
    o.logger.warn('no s3.credential is set: the S3 endpoint serves only anonymous reads of public buckets');
  }
  const namespace = await openS3Namespace(s3.namespace, o.base, o.logger);
  try {
    const handle = await startS3(
      { ...s3, credentials },
      {
        namespace,
        spoolDir: join(o.base, 's3-tmp'),
        logger: o.logger,
        defaultContentType: 'binary/octet-stream',
        ...(o.binlogDir ? { binlogLines: () => binlogLines(o.binlogDir as string) } : {}),
        ...(o.local ? { local: o.local } : {}),
        ...(o.remote ? { remote: o.remote } : {}),
      },
      {
        host: o.host,
        port: s3.port,
        headerTimeout: o.config.headerTimeout,
        ...(o.maxConnections === undefined ? {} : { maxConnections: o.maxConnections }),
      },
    );
    return {
      address: handle.address,
      handle,
      async close() {
        await handle.close();
        await namespace.close();
      },
    };
  } catch (err) {
    await namespace.close();
    throw err;
  }
}
