/**
 * storage_ids.conf, the list a tracker with use_storage_id = true identifies storages by.
 * One storage a line, as FastDFS writes it:
 *   <id> <group> <ip or host>[,<ip2>...][:port] [rw=...]
 * `#` starts a comment; IPv6 addresses go in brackets. Ids are what FastDFS accepts: 1..15
 * chars, and numeric (1..16777215) when id_type_in_filename = id embeds them in file names.
 */
import { readFile } from 'node:fs/promises';
import { FdfsError, Status } from '../common/index.js';
import { isValidGroupName } from './values.js';

export interface StorageIdEntry {
  readonly id: string;
  readonly group: string;
  /** One or more addresses the storage may connect from / be reached at. */
  readonly hosts: readonly string[];
  /** 0 = any port (the usual case: one storage per address). */
  readonly port: number;
}

const ID_RE = /^[A-Za-z0-9_.:-]{1,15}$/;
const MAX_SERVER_ID = 0xffffff;

function bad(source: string, line: number, text: string, what: string): FdfsError {
  return new FdfsError(Status.EINVAL, `${source}:${line}: ${text}: expected ${what}`);
}

/** `10.0.0.1`, `10.0.0.1,192.168.1.1:23000`, `[::1]:23000` → hosts and port. */
function parseAddress(text: string): { hosts: string[]; port: number } | undefined {
  let hostsText = text;
  let port = 0;
  const m = /^(.*?):(\d{1,5})$/.exec(text);
  // A bare IPv6 address has colons too; only a bracketed one or a non-IPv6 text takes a port.
  if (m?.[1] && m[2] && (m[1].endsWith(']') || !m[1].includes(':'))) {
    hostsText = m[1];
    port = Number(m[2]);
    if (port < 1 || port > 65535) return undefined;
  }
  const hosts = hostsText.split(',').map((h) => h.trim().replace(/^\[(.*)\]$/, '$1'));
  if (hosts.some((h) => h === '' || /\s/.test(h))) return undefined;
  return { hosts, port };
}

/** Parses the text; duplicate ids, or one address:port listed twice in a group, are refused. */
export function parseStorageIds(text: string, source = 'storage_ids.conf'): StorageIdEntry[] {
  const out: StorageIdEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [id = '', group = '', address = '', ...rest] = line.split(/\s+/);
    if (!ID_RE.test(id)) throw bad(source, i + 1, raw, 'an id of 1 to 15 letters, digits or _.:-');
    if (/^\d+$/.test(id) && (Number(id) < 1 || Number(id) > MAX_SERVER_ID)) {
      throw bad(source, i + 1, raw, `a numeric id from 1 to ${MAX_SERVER_ID}`);
    }
    if (!isValidGroupName(group)) throw bad(source, i + 1, raw, 'a group name of 1 to 16 letters or digits');
    const addr = parseAddress(address);
    if (!addr) throw bad(source, i + 1, raw, 'an address: ip[,ip2][:port]');
    if (rest.some((r) => !/^[a-z_]+=\S*$/.test(r)))
      throw bad(source, i + 1, raw, 'options of the form key=value');
    if (out.some((e) => e.id === id)) throw bad(source, i + 1, raw, `a unique id (${id} is listed twice)`);
    // One address may be listed several times (storages that send their server_id), but one
    // address:port only once: the tracker could not tell those storages apart.
    const clash = out.find(
      (e) =>
        e.group === group &&
        e.port !== 0 &&
        e.port === addr.port &&
        e.hosts.some((h) => addr.hosts.includes(h)),
    );
    if (clash) throw bad(source, i + 1, raw, `an address:port not already given to ${clash.id}`);
    out.push(Object.freeze({ id, group, hosts: Object.freeze(addr.hosts), port: addr.port }));
  });
  return out;
}

export async function loadStorageIds(path: string): Promise<StorageIdEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FdfsError(
      Status.ENOENT,
      `storage_ids_filename ${path}: cannot read: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return parseStorageIds(text, path);
}

/** Lookups a tracker needs at join time. */
export class StorageIdList {
  private readonly byIdMap: ReadonlyMap<string, StorageIdEntry>;

  constructor(readonly entries: readonly StorageIdEntry[]) {
    this.byIdMap = new Map(entries.map((e) => [e.id, e]));
  }

  byId(id: string): StorageIdEntry | undefined {
    return this.byIdMap.get(id);
  }

  /** The entry for a storage of `group` at `ip`:`port`: an exact port beats "any port". */
  find(group: string, ip: string, port: number): StorageIdEntry | undefined {
    const here = this.entries.filter((e) => e.group === group && e.hosts.includes(ip));
    return here.find((e) => e.port === port) ?? here.find((e) => e.port === 0);
  }

  /** FETCH_STORAGE_IDS (69) lines: `id group ip[:port]`, IPv6 in brackets. */
  lines(): string[] {
    return this.entries.map((e) => {
      const hosts = e.hosts.map((h) => (h.includes(':') ? `[${h}]` : h)).join(',');
      return `${e.id} ${e.group} ${hosts}${e.port ? `:${e.port}` : ''}`;
    });
  }
}
