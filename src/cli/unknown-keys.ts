/**
 * Conf keys no role of a command knows. A typo in an ordinary key is a warning (it falls back to
 * its default); a typo in a security key is refused before anything starts, because the default
 * it falls back to is "off": `--set http.auth.apikey=…` would otherwise run with no auth at all.
 */
import { FdfsError, Status } from '../common/index.js';
import {
  applyOverrides,
  COMMAND_LINE,
  type ConfRole,
  isKnownKey,
  keysOf,
  knownUnusedKeysOf,
  type Overrides,
  type RawConf,
  readConfFile,
  where,
} from '../config/index.js';

// Sections whose keys guard access, and words that mark a key as a credential wherever it sits.
const SECURITY_PREFIXES = ['http.auth.', 'http.jwt.', 'http.anti_steal.', 's3.cred'] as const;
const SECURITY_WORDS = /secret|token|api_?key|passw(or)?d|jwt|auth/i;

export interface KeyCheck {
  /** Keys no role knows, in the order given. */
  readonly unknown: readonly string[];
  /** The unknown keys that look like security settings, each with the known key nearest to it. */
  readonly refused: readonly { readonly key: string; readonly nearest: string | undefined }[];
}

/** True for keys that switch on or configure authentication, tokens or signed links. */
export function isSecurityKey(key: string): boolean {
  return SECURITY_PREFIXES.some((p) => key.startsWith(p)) || SECURITY_WORDS.test(key);
}

/** Sorts `keys` into known, unknown and refused for a command running `roles`. Pure. */
export function checkKeys(keys: Iterable<string>, roles: readonly ConfRole[]): KeyCheck {
  const unknown: string[] = [];
  const refused: { key: string; nearest: string | undefined }[] = [];
  for (const key of new Set(keys)) {
    if (roles.some((role) => isKnownKey(role, key))) continue;
    unknown.push(key);
    if (isSecurityKey(key)) refused.push({ key, nearest: nearestKey(key, roles) });
  }
  return { unknown, refused };
}

/** The known key of `roles` with the smallest edit distance to `key` (ties: the first found). */
export function nearestKey(key: string, roles: readonly ConfRole[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const role of roles) {
    for (const known of [...keysOf(role), ...knownUnusedKeysOf(role)]) {
      const d = editDistance(key, known);
      if (d < bestDistance) {
        best = known;
        bestDistance = d;
      }
    }
  }
  return best;
}

/** Levenshtein distance, two rows at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * Checks the keys a starting command takes: its conf file's and its `--set` ones (as
 * `applyOverrides` merges them). Throws EINVAL naming the first misspelt security key, where it
 * was given and the nearest known key; returns one warning per other unknown key, worded as the
 * conf loaders word theirs.
 */
export function assertKnownKeys(raw: RawConf, roles: readonly ConfRole[]): string[] {
  const { unknown, refused } = checkKeys(raw.keys(), roles);
  const at = (key: string) => {
    const entry = raw.get(key)?.[0];
    return entry === undefined ? COMMAND_LINE : where(entry);
  };
  const first = refused[0];
  if (first !== undefined) {
    const hint = first.nearest === undefined ? '' : ` (did you mean ${first.nearest}?)`;
    throw new FdfsError(
      Status.EINVAL,
      `${at(first.key)}: unknown security key ${first.key}${hint}; refusing to start without it`,
    );
  }
  return unknown.map((key) => `${at(key)}: unknown key ${key} (ignored)`);
}

/** {@link assertKnownKeys} for `--set` values and, when given, a conf file (read here). */
export async function assertKnownStartKeys(
  sets: Overrides,
  roles: readonly ConfRole[],
  confPath?: string,
): Promise<string[]> {
  const raw = confPath === undefined ? new Map() : await readConfFile(confPath);
  return assertKnownKeys(applyOverrides(raw, sets), roles);
}
