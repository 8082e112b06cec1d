/** One binlog line (fact sheet §7.3): `<ts> <op> <name>[ <extra>...]`. */
import { validateRemoteFilename } from '../../fileid/index.js';

export interface BinlogRecord {
  /** Unix seconds: when the change was made on its source. */
  readonly ts: number;
  /** Upper case: made here (source); lower case: applied from a peer (replica). */
  readonly op: string;
  /** `Mxx/HH/LL/<name>`, or that + `-m` for a metadata sidecar. */
  readonly name: string;
  readonly extra: readonly string[];
}

export interface PositionedRecord {
  readonly record: BinlogRecord;
  /** Where the line after this one starts: what the .mark stores once the record is done. */
  readonly next: BinlogPosition;
}

export interface BinlogPosition {
  readonly index: number;
  readonly offset: number;
}

/** A stored name, or its `-m` sidecar: anything else (a torn line) is not a record. */
function isStoredName(name: string): boolean {
  try {
    validateRemoteFilename(name.endsWith('-m') ? name.slice(0, -2) : name);
    return true;
  } catch {
    return false;
  }
}

const OPS = new Set(['C', 'A', 'D', 'U', 'M', 'T', 'L', 'R']);
const EXTRA_COUNT: Readonly<Record<string, number>> = { A: 2, M: 2, T: 2, L: 1, R: 1 };

/** The record, or undefined for a line that is not one (torn by a crash, or foreign). */
export function parseRecord(line: string): BinlogRecord | undefined {
  const parts = line.split(' ');
  const [tsText, op, name, ...extra] = parts;
  if (!tsText || !op || !name || !/^\d{1,12}$/.test(tsText) || op.length !== 1) return undefined;
  const upper = op.toUpperCase();
  if (!OPS.has(upper)) return undefined;
  if (extra.length !== (EXTRA_COUNT[upper] ?? 0)) return undefined;
  if (!isStoredName(name) || ((upper === 'R' || upper === 'L') && !isStoredName(extra[0] ?? '')))
    return undefined;
  if ((upper === 'A' || upper === 'M' || upper === 'T') && !extra.every((x) => /^\d{1,15}$/.test(x))) {
    return undefined;
  }
  return { ts: Number(tsText), op, name, extra };
}

export function isSourceRecord(r: BinlogRecord): boolean {
  return r.op >= 'A' && r.op <= 'Z';
}

export function formatRecord(r: BinlogRecord): string {
  return [String(r.ts), r.op, r.name, ...r.extra].join(' ');
}
