/** Client queries: where to upload (101/104/106/107) and who serves a file (102/103/105). */
import { decodeRemoteFilename } from '../fileid/index.js';
import {
  Cmd,
  decodeGroupAndName,
  encodeFetch,
  encodeStoreAll,
  encodeStoreOne,
  FdfsError,
  GROUP_NAME_LEN,
  Status,
} from '../protocol/index.js';
import { badLength, type CommandHandler, groupField, type SyncCommandHandler } from './context.js';
import { type FileFacts, selectFetchAll, selectFetchOne, selectUpdate } from './fetch-policy.js';
import { selectStore } from './store-policy.js';

function storeHandler(named: boolean, all: boolean): SyncCommandHandler {
  return (ctx, _conn, body, log) => {
    const expect = named ? GROUP_NAME_LEN : 0;
    if (body.length !== expect) throw badLength('query store', body.length, String(expect));
    const choice = selectStore(ctx.cluster, ctx.config, named ? { group: groupField(body), all } : { all });
    const first = choice.servers[0];
    if (log.debugging !== false)
      log.debug('store target', {
        group: choice.group.name,
        storage: first?.id,
        path: choice.storePathIndex,
      });
    if (all) return encodeStoreAll(choice.group.name, choice.servers, choice.storePathIndex);
    return encodeStoreOne({
      group: choice.group.name,
      ip: first?.ip ?? '',
      port: first?.port ?? 0,
      storePathIndex: choice.storePathIndex,
    });
  };
}

const FACTS_MAX = 10_000;
const facts = new Map<string, FileFacts>();

/**
 * What a fetch query needs of a name. Decoding is pure, so hot names (an image site's
 * thumbnails) are decoded once: the full decode was a third of a fetch query's JS in a profile.
 * Invalid names throw every time and are never kept.
 */
function factsOf(remote: string): FileFacts {
  let f = facts.get(remote);
  if (f === undefined) {
    const decoded = decodeRemoteFilename(remote);
    f = {
      source: decoded.source,
      timestamp: decoded.timestamp,
      normal: decoded.type !== 'appender' && decoded.type !== 'slave',
    };
    if (facts.size >= FACTS_MAX) facts.clear();
    facts.set(remote, f);
  }
  return f;
}

/** Upstream bounds: 16 + 22 ≤ body < 16 + 128. */
const MIN_FETCH_BODY = GROUP_NAME_LEN + 22;
const MAX_FETCH_BODY = GROUP_NAME_LEN + 128;

function fetchHandler(cmd: number): SyncCommandHandler {
  return (ctx, _conn, body, log) => {
    if (body.length < MIN_FETCH_BODY || body.length >= MAX_FETCH_BODY) {
      throw badLength('query fetch', body.length, `${MIN_FETCH_BODY}..${MAX_FETCH_BODY - 1}`);
    }
    const { group: name, remote } = decodeGroupAndName(body, 'query fetch');
    const group = ctx.cluster.group(name);
    if (!group) {
      throw new FdfsError(Status.ENOENT, `group ${name} not found`, { fileId: `${name}/${remote}` });
    }
    if (group.active().length === 0) {
      throw new FdfsError(Status.ENOENT, `group ${name} has no active storage`, {
        fileId: `${name}/${remote}`,
      });
    }
    const file = factsOf(remote);
    const now = ctx.cluster.now();
    const servers =
      cmd === Cmd.QUERY_FETCH_ALL
        ? selectFetchAll(group, file, ctx.config, now)
        : [
            cmd === Cmd.QUERY_UPDATE
              ? selectUpdate(group, file, ctx.config)
              : selectFetchOne(group, file, ctx.config, now),
          ];
    if (log.debugging !== false)
      log.debug('fetch target', { fileId: `${name}/${remote}`, storages: servers.map((s) => s.id) });
    return encodeFetch(group.name, servers);
  };
}

/**
 * Queries only read the cluster model, so they are answered synchronously: the server's fast path
 * calls them as a request arrives (see FastHandler), the usual loop through `queryHandlers`.
 */
export const syncQueryHandlers: ReadonlyMap<number, SyncCommandHandler> = new Map([
  [Cmd.QUERY_STORE_WITHOUT_GROUP_ONE, storeHandler(false, false)],
  [Cmd.QUERY_STORE_WITH_GROUP_ONE, storeHandler(true, false)],
  [Cmd.QUERY_STORE_WITHOUT_GROUP_ALL, storeHandler(false, true)],
  [Cmd.QUERY_STORE_WITH_GROUP_ALL, storeHandler(true, true)],
  [Cmd.QUERY_FETCH_ONE, fetchHandler(Cmd.QUERY_FETCH_ONE)],
  [Cmd.QUERY_UPDATE, fetchHandler(Cmd.QUERY_UPDATE)],
  [Cmd.QUERY_FETCH_ALL, fetchHandler(Cmd.QUERY_FETCH_ALL)],
]);

export const queryHandlers: ReadonlyMap<number, CommandHandler> = new Map(
  [...syncQueryHandlers].map(([cmd, h]): [number, CommandHandler] => [
    cmd,
    async (ctx, conn, body, log) => h(ctx, conn, body, log),
  ]),
);
