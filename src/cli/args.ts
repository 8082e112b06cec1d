/** Command-line parsing shared by the verbs: `--set key=value` (repeatable) and flags. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { FdfsError, Status } from '../common/index.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(argv: string[], options: Options): Parsed {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, set: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new FdfsError(Status.EINVAL, (err as Error).message);
  }
}

/** `--set a=1 --set a=2 --set b=x` → Map { a: ['1','2'], b: ['x'] } (a repeated key is a list). */
export function overridesOf(sets: readonly string[] | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of sets ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new FdfsError(Status.EINVAL, `--set ${s}: expected key=value`);
    const key = s.slice(0, eq).trim();
    const list = out.get(key) ?? [];
    list.push(s.slice(eq + 1).trim());
    out.set(key, list);
  }
  return out;
}

export function portOf(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new FdfsError(Status.EINVAL, `${name} ${String(v)}: expected a port 0..65535`);
  return n;
}
