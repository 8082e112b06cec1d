import { FORMATTED_EXT_LEN, validateExt } from './encode.js';
import { invalid, quote, splitRemoteFilename, validateRemoteFilename } from './validate.js';

export const PREFIX_MAX_LEN = 16;
/** The master's `HH/LL/name` must hold at least the 27-char part and an ext slot (28 + 6). */
const MASTER_TRUE_PATH_MIN_LEN = 34;
const PREFIX_RE = /^[A-Za-z0-9_.-]{1,16}$/;

/**
 * Slave-name rule (§4.2): cut the master at the first '.' in its last 7 chars, then append the
 * prefix and '.' + ext. An empty ext gives a slave without extension (what the server does; a
 * client wanting the master's ext passes it explicitly).
 */
export function slaveRemoteFilename(master: string, prefix: string, ext: string): string {
  splitRemoteFilename(master);
  if (master.length - 4 < MASTER_TRUE_PATH_MIN_LEN) {
    invalid(`invalid master filename ${quote(master)}: too short for a slave`, master);
  }
  if (typeof prefix !== 'string' || !PREFIX_RE.test(prefix)) {
    invalid(
      `invalid slave prefix ${quote(prefix)}: need 1..${PREFIX_MAX_LEN} chars of [A-Za-z0-9_.-]`,
      master,
    );
  }
  // The wire field may carry the dot; one leading dot means the same ext.
  const bareExt = typeof ext === 'string' && ext.startsWith('.') ? ext.slice(1) : ext;
  validateExt(bareExt);
  if (bareExt === '' && prefix === '-m') {
    invalid(`invalid slave prefix ${quote(prefix)} for ${quote(master)}: would name a metadata file`, master);
  }
  const tail = master.length - FORMATTED_EXT_LEN;
  const dot = master.indexOf('.', tail);
  const stem = dot < 0 ? master : master.slice(0, dot);
  const slave = `${stem}${prefix}${bareExt === '' ? '' : `.${bareExt}`}`;
  // Also catches a slave longer than 127 chars or ending in '-m' (e.g. prefix 'x-m', no ext).
  validateRemoteFilename(slave);
  return slave;
}

/**
 * A master's metadata name `fdfs.slave<prefix>.<ext>` records a slave made from it (the gateway's
 * image variants): the storage deletes recorded slaves with their master, and so does the
 * gateway in front of a cluster whose storages do not know this convention.
 */
export const SLAVE_RECORD_PREFIX = 'fdfs.slave';

export function slaveRecordName(prefix: string, ext: string): string {
  return `${SLAVE_RECORD_PREFIX}${prefix}${ext === '' ? '' : `.${ext}`}`;
}

/** The slaves of `master` its metadata names; names that give no valid slave are skipped. */
export function recordedSlaves(master: string, meta: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const name of Object.keys(meta)) {
    if (!name.startsWith(SLAVE_RECORD_PREFIX)) continue;
    const suffix = name.slice(SLAVE_RECORD_PREFIX.length);
    const dot = suffix.lastIndexOf('.');
    const prefix = dot < 0 ? suffix : suffix.slice(0, dot);
    const ext = dot < 0 ? '' : suffix.slice(dot + 1);
    try {
      out.push(slaveRemoteFilename(master, prefix, ext));
    } catch {
      // Someone else's metadata that merely starts like a record: not ours to act on.
    }
  }
  return out;
}
