/**
 * The frame every client verb (upload, download, …) runs in: option parsing with the shared
 * `--json`, `--verbose`, `--set` and `--help`, a client built from client.conf, and one exit
 * status (the FastDFS errno) with one stderr line when something fails.
 */
import { FdfsClient } from '../client/index.js';
import { createLogger, FdfsError, Status, silentLogger } from '../common/index.js';
import { type ClientConfig, defaultClientConfig, loadClientConfig, type Overrides } from '../config/index.js';
import { MAX_META_NAME_LEN, MAX_META_VALUE_LEN } from '../protocol/index.js';
import { type Options, overridesOf, parse } from './args.js';
import { errorJson, errorLine, exitStatusOf, type Io, printJson, processIo } from './output.js';

export interface VerbContext {
  /** How the command was invoked, for messages: `fdfs upload` or `fdfs_upload_file`. */
  readonly prog: string;
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
  readonly json: boolean;
  readonly verbose: boolean;
  readonly overrides: Overrides;
  readonly io: Io;
}

export interface Verb {
  readonly name: string;
  /** The arguments after the verb, for the command list: `<conf> <file_id>`. */
  readonly synopsis: string;
  /** What the verb does, in a few words, for the command list. */
  readonly summary: string;
  /** The full `--help` text: usage, every option, an example. */
  readonly help: string;
  readonly options: Options;
  /** What the command is about (a file id or a local file), for the error line. */
  subject?(positionals: readonly string[]): string | undefined;
  run(ctx: VerbContext): Promise<void>;
}

/** Options every client verb takes besides the shared `--set` and `--help`. */
export const COMMON_OPTIONS: Options = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
};

export const COMMON_HELP = `Common options:
  --json              print the result as one JSON object (errors as JSON on stderr)
  --set key=value     override a client.conf key (repeatable), e.g. --set tracker_server=10.0.0.1:22122;
                      with "-" as the conf path no file is read and only defaults and --set apply
  -v, --verbose       log client activity (JSON lines) on stderr
  -h, --help          show this help
Exit status: 0 on success, otherwise the FastDFS errno (2 = ENOENT, 111 = ECONNREFUSED, …).`;

/** Parses `argv` for `verb`, runs it and sets process.exitCode; never throws. */
export async function runVerb(verb: Verb, argv: string[], prog: string, io: Io = processIo): Promise<void> {
  let json = argv.includes('--json');
  let subject: string | undefined;
  try {
    const { values, positionals } = parseVerbArgs(argv, verb.options);
    json = values.json === true;
    if (values.help) {
      io.stdout.write(`${verb.help}\n\n${COMMON_HELP}\n`);
      return;
    }
    subject = verb.subject?.(positionals);
    await verb.run({
      prog,
      values,
      positionals,
      json,
      verbose: values.verbose === true,
      overrides: overridesOf(values.set as string[] | undefined),
      io,
    });
  } catch (err) {
    if (json) io.stderr.write(`${JSON.stringify(errorJson(err, subject))}\n`);
    else io.stderr.write(`${errorLine(prog, err, subject)}\n`);
    if (!json && err instanceof Error && usageErrors.has(err)) {
      io.stderr.write(`Run \`${prog} --help\` for usage.\n`);
    }
    process.exitCode = exitStatusOf(err);
  }
}

const usageErrors = new WeakSet<Error>();

function parseVerbArgs(argv: string[], options: Options) {
  try {
    return parse(argv, { ...COMMON_OPTIONS, ...options });
  } catch (err) {
    // node:util's advice on `--` for positionals that start with '-' is noise here: keep the first sentence.
    throw usageError((err as Error).message.replace(/\. .*$/s, ''));
  }
}

/** A wrong command line: EINVAL, followed by a pointer to `--help`. */
export function usageError(message: string): FdfsError {
  const err = new FdfsError(Status.EINVAL, message);
  usageErrors.add(err);
  return err;
}

/** Checks the positional count: `names` are required, `optional` may follow. */
export function expectPositionals(
  ctx: VerbContext,
  names: readonly string[],
  optional: readonly string[] = [],
): void {
  const n = ctx.positionals.length;
  if (n < names.length)
    throw usageError(
      `missing ${names
        .slice(n)
        .map((x) => `<${x}>`)
        .join(' ')}`,
    );
  if (n > names.length + optional.length) {
    throw usageError(
      `unexpected argument ${JSON.stringify(ctx.positionals[names.length + optional.length])}`,
    );
  }
}

/** A non-negative integer argument (offsets, lengths, indexes). */
export function nonNegativeInt(
  text: string | undefined,
  what: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > max) {
    throw usageError(`${what} ${JSON.stringify(text)}: expected an integer 0..${max}`);
  }
  return n;
}

/**
 * `k=v` strings (from `--meta` or `meta set`) → a metadata record. FastDFS' limits are checked
 * here, because a storage refuses a longer entry with a bare EINVAL that names nothing.
 */
export function metadataOf(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw usageError(`metadata ${JSON.stringify(p)}: expected name=value`);
    const name = p.slice(0, eq);
    const value = p.slice(eq + 1);
    const nameBytes = Buffer.byteLength(name);
    if (nameBytes > MAX_META_NAME_LEN) {
      throw usageError(
        `metadata name ${JSON.stringify(name)} is ${nameBytes} bytes; names are at most ${MAX_META_NAME_LEN} bytes`,
      );
    }
    const valueBytes = Buffer.byteLength(value);
    if (valueBytes > MAX_META_VALUE_LEN) {
      throw usageError(
        `metadata value of ${JSON.stringify(name)} is ${valueBytes} bytes; values are at most ${MAX_META_VALUE_LEN} bytes`,
      );
    }
    out[name] = value;
  }
  return out;
}

/** client.conf (or `-` for none) with the `--set` overrides; warnings go to stderr. */
export async function loadConf(ctx: VerbContext, confPath: string): Promise<ClientConfig> {
  const loaded =
    confPath === '-' ? defaultClientConfig(ctx.overrides) : await loadClientConfig(confPath, ctx.overrides);
  for (const w of loaded.warnings) ctx.io.stderr.write(`${ctx.prog}: warning: ${w}\n`);
  return loaded.config;
}

/** Runs `fn` with a client for the conf at positional 0 and closes it afterwards. */
export async function withClient<T>(
  ctx: VerbContext,
  fn: (client: FdfsClient, config: ClientConfig) => Promise<T>,
  config?: ClientConfig,
): Promise<T> {
  const conf = config ?? (await loadConf(ctx, ctx.positionals[0] ?? '-'));
  const logger = ctx.verbose ? createLogger({ level: 'debug' }) : silentLogger;
  const client = new FdfsClient(conf, { logger });
  try {
    return await fn(client, conf);
  } finally {
    await client.close();
  }
}

/** Prints `text` (plus a newline when missing) or, with --json, `json`. */
export function emit(ctx: VerbContext, text: string, json: unknown): void {
  if (ctx.json) printJson(ctx.io, json);
  else if (text !== '') ctx.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
