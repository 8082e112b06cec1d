/**
 * GetObjectTagging: objects here carry no tags, so the answer is an empty TagSet for a key that
 * exists. aws cli's `s3 cp`/`sync` between two S3 locations asks for the source's tags before a
 * multipart copy and gives up on the object when that call fails.
 */
import type { Reply, S3Call } from './call.js';
import { xmlReply } from './call.js';
import { assertKey } from './names.js';
import { findObject } from './object-get.js';
import { el, root } from './xml-write.js';

export async function getObjectTagging(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const key = call.key;
  assertKey(key);
  await findObject(call, b.name, key);
  return xmlReply(root('Tagging', el('TagSet')));
}
