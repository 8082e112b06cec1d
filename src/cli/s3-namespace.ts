/**
 * The S3 namespace an endpoint or an admin command opens: s3.namespace names a PostgreSQL database
 * shared by every gateway, or is empty for the embedded lmdb store under the data folder.
 */
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { isPostgresUrl, type Namespace, openLmdbNamespace, openPgNamespace } from '../namespace/index.js';

/** Where the lmdb store lives under a data folder. */
export function lmdbNamespaceDir(base: string): string {
  return join(base, 's3-namespace');
}

export function namespaceIsShared(setting: string): boolean {
  return isPostgresUrl(setting);
}

export function openS3Namespace(setting: string, base: string, logger?: Logger): Promise<Namespace> {
  if (isPostgresUrl(setting)) return openPgNamespace(setting, logger ? { logger } : {});
  return openLmdbNamespace(lmdbNamespaceDir(base));
}
