/** Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, and the GETs clients probe. */
import { isValidGroupName } from '../fileid/index.js';
import { readSmall } from './body.js';
import { type Reply, type S3Call, xmlReply } from './call.js';
import { s3Error } from './errors.js';
import { assertBucketName } from './names.js';
import { isoTime, ownerId, ownerXml } from './owner.js';
import { childText, expectRoot, MAX_XML_BYTES, parseXml } from './xml-parse.js';
import { el, root, Xml } from './xml-write.js';

function needOwner(call: S3Call): string {
  if (call.owner === undefined) throw s3Error('AccessDenied', 'Access Denied');
  return call.owner;
}

export async function listBuckets(call: S3Call): Promise<Reply> {
  const owner = needOwner(call);
  const buckets = await call.ctx.ns.listBuckets(owner);
  return xmlReply(
    root(
      'ListAllMyBucketsResult',
      ownerXml(owner),
      el(
        'Buckets',
        ...buckets.map((b) => el('Bucket', el('Name', b.name), el('CreationDate', isoTime(b.createdAt)))),
      ),
    ),
  );
}

/** The group a LocationConstraint pins the bucket to; undefined for the region (or none). */
async function groupOf(call: S3Call, constraint: string | undefined): Promise<string | undefined> {
  const { ctx } = call;
  if (constraint === undefined || constraint === '' || constraint === ctx.config.region) return undefined;
  if (constraint === 'us-east-1') return undefined;
  if (!isValidGroupName(constraint)) {
    throw s3Error(
      'InvalidLocationConstraint',
      'The specified location constraint is neither the region nor a FastDFS group name.',
    );
  }
  if (ctx.local?.group === constraint) return constraint;
  const groups = ctx.remote ? await ctx.remote.listGroups() : [];
  if (!groups.some((g) => g.groupName === constraint)) {
    throw s3Error(
      'InvalidLocationConstraint',
      `There is no FastDFS group named ${constraint} in this cluster.`,
    );
  }
  return constraint;
}

export async function createBucket(call: S3Call): Promise<Reply> {
  const owner = needOwner(call);
  const name = call.bucket;
  assertBucketName(name);
  const body = await readSmall(call.body().stream, MAX_XML_BYTES);
  let constraint: string | undefined;
  if (body.length > 0) {
    constraint = childText(
      expectRoot(parseXml(body), 'CreateBucketConfiguration'),
      'LocationConstraint',
    )?.trim();
  }
  const group = await groupOf(call, constraint);
  const outcome = await call.ctx.ns.createBucket({
    name,
    owner,
    createdAt: call.ctx.now(),
    public: false,
    ...(group === undefined ? {} : { group }),
  });
  if (outcome === 'owned') {
    throw s3Error(
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
    );
  }
  if (outcome === 'taken') {
    throw s3Error(
      'BucketAlreadyExists',
      'The requested bucket name is not available. Please select a different name and try again.',
    );
  }
  call.ctx.logger.info('bucket created', { bucket: name, owner, group: group ?? null });
  return { status: 200, headers: { location: `/${name}` } };
}

export async function headBucket(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket('read');
  return {
    status: 200,
    headers: {
      'x-amz-bucket-region': call.ctx.config.region,
      ...(b.group ? { 'x-fdfs-group': b.group } : {}),
    },
  };
}

export async function deleteBucket(call: S3Call): Promise<Reply> {
  await call.ownedBucket();
  const outcome = await call.ctx.ns.deleteBucket(call.bucket);
  if (outcome === 'missing') throw s3Error('NoSuchBucket', 'The specified bucket does not exist.');
  if (outcome === 'not-empty')
    throw s3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty.');
  call.ctx.kickGarbage();
  call.ctx.logger.info('bucket deleted', { bucket: call.bucket, owner: call.owner });
  return { status: 204 };
}

export async function getBucketLocation(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  // us-east-1 is answered as an empty constraint, as S3 does; a pinned bucket names its group.
  const region = call.ctx.config.region;
  const value = b.group ?? (region === 'us-east-1' ? '' : region);
  return xmlReply(root('LocationConstraint', value));
}

export async function getBucketVersioning(call: S3Call): Promise<Reply> {
  await call.ownedBucket();
  return xmlReply(root('VersioningConfiguration'));
}

/** Objects are private to the owner: the ACL says so, whatever canned ACL a client sent. */
export async function getAcl(call: S3Call): Promise<Reply> {
  const b = await call.ownedBucket();
  const who = el('ID', ownerId(b.owner)).text + el('DisplayName', b.owner).text;
  const grantee = new Xml(
    `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${who}</Grantee>`,
  );
  const grant = el('Grant', grantee, el('Permission', 'FULL_CONTROL'));
  return xmlReply(root('AccessControlPolicy', ownerXml(b.owner), el('AccessControlList', grant)));
}
