/** The `-m` sidecar: packed metadata (fact sheet §4.4), sorted by name, replaced atomically. */
import { readFile, unlink } from 'node:fs/promises';
import { SLAVE_RECORD_PREFIX } from '../fileid/index.js';
import {
  FdfsError,
  MAX_META_NAME_LEN,
  MAX_META_VALUE_LEN,
  type Metadata,
  mergeMetadata,
  packMetadata,
  Status,
  unpackMetadata,
} from '../protocol/index.js';
import { writeFileAtomicIn } from './durable.js';

export const META_SUFFIX = '-m';

/**
 * FastDFS silently cuts names over 64 and values over 256 bytes; we refuse them instead, so a
 * client never believes it stored something it did not.
 */
export function checkMetadata(meta: Metadata, fileId: string): void {
  for (const [k, v] of Object.entries(meta)) {
    if (Buffer.byteLength(k) > MAX_META_NAME_LEN || k.length === 0) {
      throw new FdfsError(
        Status.EINVAL,
        `metadata name "${k.slice(0, 80)}" must be 1..${MAX_META_NAME_LEN} bytes`,
        { fileId },
      );
    }
    if (Buffer.byteLength(v) > MAX_META_VALUE_LEN) {
      throw new FdfsError(
        Status.EINVAL,
        `metadata value of "${k}" is ${Buffer.byteLength(v)} bytes, the limit is ${MAX_META_VALUE_LEN}`,
        {
          fileId,
        },
      );
    }
  }
}

export async function readMetadataRaw(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path + META_SUFFIX);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Applies an overwrite or merge; returns what happened for the binlog ('C', 'U', 'D' or none). */
export async function writeMetadata(
  path: string,
  update: Metadata,
  mode: 'overwrite' | 'merge',
  durable: boolean,
  tmpDir: string,
  beforeChange: (op: 'C' | 'U' | 'D') => Promise<void>,
): Promise<'C' | 'U' | 'D' | undefined> {
  const existing = await readMetadataRaw(path);
  if (mode === 'merge' && Object.keys(update).length === 0) return undefined;
  // The records of slaves made from this file (image variants) outlive an overwrite: they are
  // how a delete of the file finds its slaves, which would otherwise stay behind for good.
  if (mode === 'overwrite' && existing) update = { ...slaveRecordsOf(unpackMetadata(existing)), ...update };
  if (mode === 'overwrite' && Object.keys(update).length === 0) {
    if (!existing) return undefined;
    await beforeChange('D');
    await unlink(path + META_SUFFIX);
    return 'D';
  }
  const next = mode === 'merge' && existing ? mergeMetadata(unpackMetadata(existing), update) : update;
  const op = existing ? 'U' : 'C';
  await beforeChange(op);
  // The temp goes to the store path's .tmp/, which start empties, not beside the sidecar.
  await writeFileAtomicIn(tmpDir, path + META_SUFFIX, packMetadata(next), durable);
  return op;
}

function slaveRecordsOf(meta: Metadata): Metadata {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (k.startsWith(SLAVE_RECORD_PREFIX)) out[k] = v;
  return out;
}
