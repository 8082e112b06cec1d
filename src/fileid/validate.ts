import { FdfsError, Status } from '../common/index.js';
import type { FileId } from './types.js';

/** Upstream buffers are 128 bytes, and the tracker accepts 22 ≤ len < 128. */
export const REMOTE_FILENAME_MIN_LEN = 22;
export const REMOTE_FILENAME_MAX_LEN = 127;
export const GROUP_NAME_MAX_LEN = 16;
export const META_SIDECAR_SUFFIX = '-m';

// The whole id in one anchored pattern: nothing outside it can reach a path join.
const REMOTE_RE = /^M([0-9A-F]{2})\/([0-9A-F]{2})\/([0-9A-F]{2})\/([A-Za-z0-9_.-]+)$/;
const GROUP_RE = /^[A-Za-z0-9]{1,16}$/;

/** Quotes untrusted input for an error message: escaped, and cut so a huge value cannot flood logs. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 140 ? `${text.slice(0, 140)}…` : text);
}

export function invalid(message: string, fileId?: string): never {
  throw new FdfsError(Status.EINVAL, message, fileId === undefined ? {} : { fileId });
}

/** True for the metadata sidecar FastDFS keeps next to a file (`<name>-m`). */
export function isMetaSidecarName(name: string): boolean {
  return name.endsWith(META_SIDECAR_SUFFIX);
}

export interface RemoteParts {
  storePathIndex: number;
  subdirHigh: number;
  subdirLow: number;
  fileName: string;
}

/**
 * The security gate for every name that reaches the disk: only `Mxx/HH/LL/<name>` with upper-case
 * hex and a single safe segment passes, so `..`, `%2e`, `\`, NUL and absolute paths never do.
 */
export function splitRemoteFilename(remote: string): RemoteParts {
  if (typeof remote !== 'string') invalid(`remote filename must be a string, got ${typeof remote}`);
  const len = remote.length;
  if (len < REMOTE_FILENAME_MIN_LEN || len > REMOTE_FILENAME_MAX_LEN) {
    invalid(
      `invalid remote filename ${quote(remote)}: length ${len} outside ` +
        `${REMOTE_FILENAME_MIN_LEN}..${REMOTE_FILENAME_MAX_LEN}`,
      remote,
    );
  }
  const m = REMOTE_RE.exec(remote);
  if (m === null) {
    invalid(
      `invalid remote filename ${quote(remote)}: expected Mxx/HH/LL/<name> with [A-Za-z0-9_.-]`,
      remote,
    );
  }
  const [, path = '', high = '', low = '', fileName = ''] = m;
  // Names never start with a dot; refusing it also rules out '.' and '..' as the segment.
  if (fileName.startsWith('.')) {
    invalid(`invalid remote filename ${quote(remote)}: name starts with '.'`, remote);
  }
  if (isMetaSidecarName(fileName)) {
    invalid(`invalid remote filename ${quote(remote)}: '-m' names are metadata sidecars`, remote);
  }
  return {
    storePathIndex: Number.parseInt(path, 16),
    subdirHigh: Number.parseInt(high, 16),
    subdirLow: Number.parseInt(low, 16),
    fileName,
  };
}

export function validateRemoteFilename(remote: string): void {
  splitRemoteFilename(remote);
}

export function isValidGroupName(group: string): boolean {
  return typeof group === 'string' && GROUP_RE.test(group);
}

export function validateGroupName(group: string): void {
  if (!isValidGroupName(group)) invalid(`invalid group name ${quote(group)}: need 1..16 chars [A-Za-z0-9]`);
}

/** Splits `group1/M00/00/00/xxx` at the first '/' and validates both halves. */
export function parseFileId(fileId: string): FileId {
  if (typeof fileId !== 'string') invalid(`file id must be a string, got ${typeof fileId}`);
  const slash = fileId.indexOf('/');
  if (slash <= 0) invalid(`invalid file id ${quote(fileId)}: expected <group>/<remote filename>`, fileId);
  const group = fileId.slice(0, slash);
  const remoteFilename = fileId.slice(slash + 1);
  if (!isValidGroupName(group)) {
    invalid(`invalid file id ${quote(fileId)}: group must be 1..16 chars [A-Za-z0-9]`, fileId);
  }
  validateRemoteFilename(remoteFilename);
  return { group, remoteFilename };
}

export function formatFileId(group: string, remote: string): string {
  validateGroupName(group);
  validateRemoteFilename(remote);
  return `${group}/${remote}`;
}

/** `M00/0A/1F/name` → `data/0A/1F/name`, relative to the store path. */
export function relativeDataPath(remote: string): string {
  splitRemoteFilename(remote);
  return `data/${remote.slice(4)}`;
}

export function storePathIndexOf(remote: string): number {
  return splitRemoteFilename(remote).storePathIndex;
}
