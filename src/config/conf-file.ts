/**
 * Reader for FastDFS-style `.conf` files: `key = value` lines, `#` comments, repeated keys,
 * `#include other.conf` and `[section]` headers. Every value keeps the file and line it came
 * from so later errors can point at it.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { FdfsError, Status, toStatus } from '../common/index.js';

/** One occurrence of a key. `line` is 0 for values that did not come from a file. */
export interface ConfEntry {
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

/** key → every occurrence in reading order (a key given twice yields two entries). */
export type RawConf = ReadonlyMap<string, readonly ConfEntry[]>;

/** The name errors and warnings use for values given as `--set key=value`. */
export const COMMAND_LINE = '<command line>';

/** `file:line`, or just `file` for values with no line (command line, defaults). */
export function where(entry: { readonly file: string; readonly line: number }): string {
  return entry.line > 0 ? `${entry.file}:${entry.line}` : entry.file;
}

type Item =
  | { readonly kind: 'value'; readonly key: string; readonly value: string; readonly line: number }
  | { readonly kind: 'include'; readonly target: string; readonly line: number };

const keyPattern = /^[A-Za-z0-9_.-]+$/;
const sectionPattern = /^\[([A-Za-z0-9_.-]+)\]$/;
// FastDFS only treats the exact prefix `#include ` as a directive; `##include` is a comment.
const includePattern = /^#include\s+(\S.*)$/;

function syntaxError(file: string, line: number, text: string, what: string): FdfsError {
  return new FdfsError(Status.EINVAL, `${file}:${line}: ${text}: expected ${what}`);
}

/** Splits text into values and include directives; keys inside `[s]` become `s.key`. */
function scan(text: string, file: string): Item[] {
  const items: Item[] = [];
  let section = '';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      const include = includePattern.exec(trimmed);
      if (include?.[1] !== undefined) items.push({ kind: 'include', target: include[1].trim(), line });
      continue;
    }
    if (trimmed.startsWith('[')) {
      const name = sectionPattern.exec(trimmed)?.[1];
      if (name === undefined) throw syntaxError(file, line, trimmed, '[section] with a plain name');
      section = `${name}.`;
      continue;
    }
    const eq = trimmed.indexOf('=');
    if (eq < 0) throw syntaxError(file, line, trimmed, 'key = value');
    const key = trimmed.slice(0, eq).trim();
    if (!keyPattern.test(key)) throw syntaxError(file, line, trimmed, 'a key of letters, digits, _ . -');
    // No inline comments: FastDFS keeps everything after `=` as the value, and so do we.
    items.push({ kind: 'value', key: section + key, value: trimmed.slice(eq + 1).trim(), line });
  }
  return items;
}

function append(out: Map<string, ConfEntry[]>, key: string, entry: ConfEntry): void {
  const list = out.get(key);
  if (list === undefined) out.set(key, [entry]);
  else list.push(entry);
}

/**
 * Parses one file's text without touching the disk. A `#include` line is an error here:
 * includes are followed only by {@link readConfFile}.
 */
export function parseConfText(text: string, fileName: string): RawConf {
  const out = new Map<string, ConfEntry[]>();
  for (const item of scan(text, fileName)) {
    if (item.kind === 'include') {
      throw new FdfsError(
        Status.EINVAL,
        `${fileName}:${item.line}: #include ${item.target}: includes are only followed when reading files`,
      );
    }
    append(out, item.key, { value: item.value, file: fileName, line: item.line });
  }
  return out;
}

async function readInto(
  out: Map<string, ConfEntry[]>,
  file: string,
  chain: readonly string[],
  from: string | undefined,
): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as { code?: unknown }).code ?? 'unreadable';
    const at = from === undefined ? '' : `${from}: `;
    throw new FdfsError(toStatus(err), `${at}cannot read ${file} (${String(why)})`, { cause: err });
  }
  for (const item of scan(text, file)) {
    if (item.kind === 'value') {
      append(out, item.key, { value: item.value, file, line: item.line });
      continue;
    }
    // Relative includes resolve against the including file's folder, as in FastDFS.
    const target = isAbsolute(item.target) ? item.target : join(dirname(file), item.target);
    const id = resolve(target);
    const at = `${file}:${item.line}`;
    if (chain.includes(id)) {
      throw new FdfsError(Status.EINVAL, `${at}: #include ${item.target}: include cycle back to ${target}`);
    }
    await readInto(out, target, [...chain, id], at);
  }
}

/**
 * Reads a conf file and everything it includes, in order. Included files start outside any
 * section; the includer's section resumes after the directive. A file may be included twice
 * (e.g. from two siblings) but never from within itself.
 */
export async function readConfFile(path: string): Promise<RawConf> {
  const out = new Map<string, ConfEntry[]>();
  await readInto(out, path, [resolve(path)], undefined);
  return out;
}

/** Command-line values replace every file value of their key. */
export function applyOverrides(raw: RawConf, overrides?: ReadonlyMap<string, readonly string[]>): RawConf {
  if (overrides === undefined || overrides.size === 0) return raw;
  const out = new Map(raw);
  for (const [key, values] of overrides) {
    out.set(
      key,
      values.map((value) => ({ value, file: COMMAND_LINE, line: 0 })),
    );
  }
  return out;
}
