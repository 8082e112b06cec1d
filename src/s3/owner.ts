/** How an owner (an access key) appears in answers: a stable opaque ID, the key as display name. */
import { createHash } from 'node:crypto';
import { el, type Xml } from './xml-write.js';

const ids = new Map<string, string>();

export function ownerId(accessKey: string): string {
  let id = ids.get(accessKey);
  if (id === undefined) {
    id = createHash('sha256').update(`fdfs-s3-owner:${accessKey}`).digest('hex');
    ids.set(accessKey, id);
  }
  return id;
}

export function ownerXml(accessKey: string, name = 'Owner'): Xml {
  return el(name, el('ID', ownerId(accessKey)), el('DisplayName', accessKey));
}

/** S3's timestamp form in listings: ISO 8601 with milliseconds, UTC. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
