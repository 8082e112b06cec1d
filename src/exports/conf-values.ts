/**
 * Conf keys as a plain object, for code that has no conf file: `{ port: 0, base_path: '/x',
 * tracker_server: ['a:22122', 'b:22122'] }` means what those lines mean in a FastDFS conf file.
 * A key the role does not know is an error here, not a warning: in code it is a typo.
 */
import { FdfsError, Status } from '../common/index.js';
import type { Loaded, Overrides } from '../config/index.js';

export type ConfValue = string | number | boolean | readonly (string | number)[];
export type ConfValues = Readonly<Record<string, ConfValue>>;

export function toOverrides(values: ConfValues = {}): Overrides {
  const out = new Map<string, string[]>();
  for (const [key, v] of Object.entries(values)) {
    out.set(key, Array.isArray(v) ? v.map(String) : [String(v)]);
  }
  return out;
}

/** The config, or an EINVAL naming every unknown key (the loader's warnings). */
export function strict<T>(loaded: Loaded<T>): T {
  if (loaded.warnings.length > 0) throw new FdfsError(Status.EINVAL, loaded.warnings.join('; '));
  return loaded.config;
}
