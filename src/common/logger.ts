/** Structured logger: one JSON object per line. Libraries receive one; only cli makes one. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  /**
   * false when debug lines are dropped: a hot path skips building their fields. Absent means
   * unknown (log as usual).
   */
  readonly debugging?: boolean;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const secretKey = /secret|password|token|authorization|api_?key/i;

/**
 * Whether a value under a secret-sounding name could carry the secret: a non-empty string, or a
 * list or object (which may hold strings). A flag (`tokens: true`), a count or null is a fact
 * about the setting, not the secret, and stays readable.
 */
function mayHoldSecret(v: unknown): boolean {
  if (typeof v === 'string') return v !== '';
  return v !== null && typeof v === 'object';
}

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (secretKey.test(k) && mayHoldSecret(v)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = { message: v.message, code: (v as { code?: unknown }).code };
    else out[k] = v;
  }
  return out;
}

export function createLogger(
  opts: { level?: LogLevel; write?: (line: string) => void; base?: LogFields } = {},
): Logger {
  return makeLogger(
    order[opts.level ?? 'info'],
    opts.write ?? ((line: string) => process.stderr.write(`${line}\n`)),
    () => opts.base ?? {},
  );
}

/**
 * A child's fields are merged (and redacted) on its first line, not when it is made: servers
 * make a child per request, and most requests log nothing at the configured level.
 */
function makeLogger(min: number, write: (line: string) => void, baseOf: () => LogFields): Logger {
  let base: LogFields | undefined;
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (order[level] < min) return;
    base ??= baseOf();
    write(JSON.stringify({ t: new Date().toISOString(), level, msg, ...base, ...redact(fields ?? {}) }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) =>
      makeLogger(min, write, () => {
        base ??= baseOf();
        return { ...base, ...redact(fields) };
      }),
    debugging: min <= order.debug,
  };
}

/** A logger that drops everything; the default for library code used without one. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
  debugging: false,
};
