/** Which operation a request is: method, whether it names a bucket and a key, and its subresource. */
import * as bucket from './bucket-ops.js';
import type { Reply, S3Call } from './call.js';
import { s3Error } from './errors.js';
import * as list from './list-ops.js';
import * as mp from './multipart.js';
import { completeUpload } from './multipart-complete.js';
import { listParts, listUploads } from './multipart-list.js';
import { deleteObject, deleteObjects } from './object-delete.js';
import { getObject } from './object-get.js';
import { copyObject, putObject } from './object-put.js';
import { getObjectTagging } from './object-tagging.js';

export type Operation = (call: S3Call) => Promise<Reply>;

/** Subresources S3 has and this endpoint does not: answered NotImplemented, never as a listing. */
const UNSUPPORTED = [
  'accelerate',
  'analytics',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'website',
  'attributes',
];
const UNSUPPORTED_RANK = new Map(UNSUPPORTED.map((name, i) => [name, i]));

/**
 * The unsupported subresource the request names (the first in UNSUPPORTED's order when several):
 * the query's few names are looked up, not the 25 of the list in the query.
 */
function unsupportedOf(call: S3Call): string | undefined {
  let best: number | undefined;
  for (const name of call.target.query.keys()) {
    const rank = UNSUPPORTED_RANK.get(name);
    if (rank !== undefined && (best === undefined || rank < best)) best = rank;
  }
  return best === undefined ? undefined : UNSUPPORTED[best];
}

function notImplemented(what: string): never {
  throw s3Error('NotImplemented', `${what} is not implemented by this endpoint.`);
}

/** A canned ACL is accepted and ignored: objects stay private (see `fdfs s3 public`). */
const acceptAcl: Operation = async (call) => {
  await call.ownedBucket();
  return { status: 200 };
};

export function operationOf(call: S3Call): Operation {
  const { method, target } = call;
  const sub = unsupportedOf(call);
  if (target.bucket === undefined) {
    if (method === 'GET') return bucket.listBuckets;
    throw s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
  if (target.key === undefined) {
    if (sub) notImplemented(`The bucket subresource ${sub}`);
    switch (method) {
      case 'GET':
        if (call.has('location')) return bucket.getBucketLocation;
        if (call.has('versioning')) return bucket.getBucketVersioning;
        if (call.has('acl')) return bucket.getAcl;
        if (call.has('uploads')) return listUploads;
        if (call.has('versions')) return list.listObjectVersions;
        if (call.q('list-type') === '2') return list.listObjectsV2;
        return list.listObjectsV1;
      case 'HEAD':
        return bucket.headBucket;
      case 'PUT':
        if (call.has('acl')) return acceptAcl;
        if (call.has('versioning')) notImplemented('Bucket versioning');
        return bucket.createBucket;
      case 'DELETE':
        return bucket.deleteBucket;
      case 'POST':
        if (call.has('delete')) return deleteObjects;
        break;
    }
    throw s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }
  // Untagged objects answer an empty TagSet; setting tags stays NotImplemented.
  if (sub === 'tagging' && method === 'GET') return getObjectTagging;
  if (sub) notImplemented(`The object subresource ${sub}`);
  switch (method) {
    case 'GET':
      if (call.has('uploadId')) return listParts;
      if (call.has('acl')) return bucket.getAcl;
      return (c) => getObject(c, false);
    case 'HEAD':
      return (c) => getObject(c, true);
    case 'PUT':
      if (call.has('acl')) return acceptAcl;
      if (call.has('uploadId')) {
        return call.header('x-amz-copy-source') !== undefined ? mp.uploadPartCopy : mp.uploadPart;
      }
      return call.header('x-amz-copy-source') !== undefined ? copyObject : putObject;
    case 'DELETE':
      return call.has('uploadId') ? mp.abortUpload : deleteObject;
    case 'POST':
      if (call.has('uploads')) return mp.createUpload;
      if (call.has('uploadId')) return completeUpload;
      break;
  }
  throw s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
}
