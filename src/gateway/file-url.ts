/**
 * Download URLs: `/<group>/M00/00/00/<name>` and, as mod_fastdfs with url_have_group_name=false,
 * `/M00/00/00/<name>`. The raw path is checked as sent: file ids never need percent-encoding, so
 * `%2e%2e`, `..`, `//` and anything else outside fileid's strict pattern is a 400, never a path.
 */
import type { FileId } from '../fileid/index.js';
import { parseFileId } from '../fileid/index.js';
import { fail, spoken } from './errors.js';

export interface FileTarget extends FileId {
  readonly fileId: string;
}

// Loose shape only, to tell "meant as a file URL" (→ strict check, 400) from an unknown route (404).
const FILE_URL = /^\/(?:([^/]*)\/)?(M[^/]*\/.*)$/;

/**
 * The file a path names; undefined when the path is not shaped like a file URL at all.
 * `defaultGroup` serves URLs without a group ('' = such URLs are refused).
 */
export function parseFileUrl(path: string, defaultGroup: string): FileTarget | undefined {
  const m = FILE_URL.exec(path);
  if (m === null) return undefined;
  const [, group, remote = ''] = m;
  let id: string;
  if (group === undefined) {
    if (defaultGroup === '') {
      throw fail.badRequest(`URL ${quote(path)} has no group and no default group is configured`);
    }
    id = `${defaultGroup}/${remote}`;
  } else {
    id = `${group}/${remote}`;
  }
  let parsed: FileId;
  try {
    parsed = parseFileId(id);
  } catch (err) {
    throw spoken(err); // about the URL the client sent: fit to show it
  }
  return { ...parsed, fileId: id };
}

/** Splits a raw request target into path and query text without the cost of a URL object. */
export function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 140 ? `${text.slice(0, 140)}…` : text);
}
