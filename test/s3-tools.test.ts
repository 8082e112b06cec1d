/**
 * S3 tools nobody here wrote, from Debian (`.ci/run` installs them): rclone, s3cmd, aws cli and
 * boto3 against a real `fdfs start --s3-port 0`. Each makes a bucket, uploads a tree with awkward
 * names and a 6 MB file it sends as a multipart upload, lists it, downloads it back byte for byte,
 * deletes it and removes the bucket. The keys and the multipart ETag are read back through
 * @aws-sdk/client-s3, so a tool that mangled a name or skipped multipart cannot pass unnoticed.
 * A missing tool fails the file; FDFS_SKIP_S3_TOOLS=1 skips it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/node-process.js';
import { optOutReason } from './helpers/opt-out.js';
import { bodyOf, type S3Node, startS3Node } from './helpers/s3.js';

const run = promisify(execFile);

/** Where `tool` is found, Debian's copy (/usr/bin) first, so a pip-installed aws earlier in PATH is not the one tried. */
function found(tool: string): string[] {
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter)];
  return dirs.map((d) => join(d, tool)).filter((p) => existsSync(p));
}

function importsBoto3(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import boto3'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const RCLONE = found('rclone')[0];
const S3CMD = found('s3cmd')[0];
const AWS = found('aws')[0];
const PYTHON = found('python3').find(importsBoto3);
const skip = (available: boolean, tool: string, pkg: string) =>
  optOutReason('FDFS_SKIP_S3_TOOLS', available, tool, `apt-get install ${pkg}`);
const skips = {
  rclone: skip(RCLONE !== undefined, 'rclone', 'rclone'),
  s3cmd: skip(S3CMD !== undefined, 's3cmd', 's3cmd'),
  aws: skip(AWS !== undefined, 'aws cli', 'awscli'),
  boto3: skip(PYTHON !== undefined, 'python3 with boto3', 'python3-boto3'),
};
const anyRuns = Object.values(skips).some((s) => s === undefined);

/** The local tree every tool uploads: names S3 clients get wrong, and one file past 5 MiB. */
const SMALL: Record<string, Buffer> = {
  'a&b+c.txt': Buffer.from('ampersand and plus\n'),
  'é ü.txt': Buffer.from('umlauts\n'),
  'sub dir/x y.png': randomBytes(3000),
  'it\'s "quoted".txt': Buffer.from('both quotes\n'),
  '100% sure=yes;ok.txt': Buffer.from('percent, equals, semicolon\n'),
};
const BIG = 'big.bin';
const BIG_SIZE = 6 * 1024 * 1024;
const NAMES = [...Object.keys(SMALL), BIG].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

let s3: S3Node;
let work: string;
let tree: string;
let treeHashes: Map<string, string>;

/** Every file under `dir` as relative path → sha256. */
async function hashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out.set(
      relative(dir, path),
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
  }
  return out;
}

/** The environment every tool runs in: its own HOME (no user config), no CA bundle. */
function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: work, ...extra };
  // rclone 1.60 refuses plain-HTTP endpoints when AWS_CA_BUNDLE names a file (see STYLE.md traps).
  delete env.AWS_CA_BUNDLE;
  for (const k of Object.keys(env)) if (k.startsWith('RCLONE_') || k === 'AWS_PROFILE') delete env[k];
  return env;
}

async function tool(cmd: string, args: string[], env = toolEnv()): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { env, cwd: work, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** The keys in `bucket` as the AWS SDK lists them. */
async function keysOf(bucket: string): Promise<string[]> {
  const out = await s3.client().send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

async function bucketsOf(): Promise<string[]> {
  const out = await s3.client().send(new ListBucketsCommand({}));
  return (out.Buckets ?? []).map((b) => b.Name ?? '');
}

/** The SDK's view after an upload: exactly the tree's names, the big file stored as 2 parts. */
async function expectUploaded(bucket: string): Promise<void> {
  expect(await keysOf(bucket)).toEqual(NAMES);
  const head = await s3.client().send(new HeadObjectCommand({ Bucket: bucket, Key: BIG }));
  expect(head.ContentLength).toBe(BIG_SIZE);
  expect(head.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
}

async function expectSameTree(dir: string): Promise<void> {
  expect(await hashes(dir)).toEqual(treeHashes);
}

beforeAll(async () => {
  if (!anyRuns) return;
  work = await tempDir('fdfs-s3-tools-');
  tree = join(work, 'tree');
  await mkdir(join(tree, 'sub dir'), { recursive: true });
  for (const [name, body] of Object.entries(SMALL)) await writeFile(join(tree, name), body);
  await writeFile(join(tree, BIG), randomBytes(BIG_SIZE));
  treeHashes = await hashes(tree);
  s3 = await startS3Node();
});

afterAll(async () => {
  await s3?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const title = (name: string, why: string | undefined) => (why ? `${name} (skipped: ${why})` : name);

describe.skipIf(skips.rclone !== undefined)(title('rclone', skips.rclone), () => {
  it('mkdir, copy, check, server-side copyto/moveto, lsf, copy back, delete, rmdir', {
    timeout: 30_000,
  }, async () => {
    const rclone = RCLONE as string;
    const config = join(work, 'rclone.conf');
    // Provider Other: rclone lists with ListObjects v1 and pages delimited listings by NextMarker.
    await writeFile(
      config,
      [
        '[fdfs]',
        'type = s3',
        'provider = Other',
        `endpoint = ${s3.endpoint}`,
        `access_key_id = ${s3.accessKeyId}`,
        `secret_access_key = ${s3.secretAccessKey}`,
        'region = us-east-1',
        'upload_cutoff = 5M', // the 6 MB file goes as a multipart upload of 5 MiB + 1 MiB
        'chunk_size = 5M',
        '',
      ].join('\n'),
    );
    const rc = (...args: string[]) => tool(rclone, ['--config', config, ...args]);
    await rc('mkdir', 'fdfs:rclone-tree');
    await rc('copy', tree, 'fdfs:rclone-tree');
    await expectUploaded('rclone-tree');
    // check compares sizes and MD5s (the multipart object's from rclone's md5chksum metadata).
    await rc('check', tree, 'fdfs:rclone-tree');
    await rc('check', '--download', tree, 'fdfs:rclone-tree');
    // Server-side copy past copy_cutoff: CreateMultipartUpload + UploadPartCopy ranges + Complete.
    await rc('copyto', '--s3-copy-cutoff', '5M', `fdfs:rclone-tree/${BIG}`, 'fdfs:rclone-tree/copy.bin');
    await rc('moveto', 'fdfs:rclone-tree/copy.bin', 'fdfs:rclone-tree/copy/moved.bin');
    const copied = await s3
      .client()
      .send(new GetObjectCommand({ Bucket: 'rclone-tree', Key: 'copy/moved.bin' }));
    expect(copied.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(
      createHash('sha256')
        .update(await bodyOf(copied))
        .digest('hex'),
    ).toBe(treeHashes.get(BIG));
    await rc('deletefile', 'fdfs:rclone-tree/copy/moved.bin');
    const listed = (await rc('lsf', '-R', '--files-only', 'fdfs:rclone-tree')).split('\n').filter(Boolean);
    expect(listed.sort()).toEqual([...NAMES].sort());
    // Paged by one key: the delimited v1 listing must hand out NextMarker each time.
    const paged = (await rc('lsf', '--s3-list-chunk', '1', 'fdfs:rclone-tree')).split('\n').filter(Boolean);
    expect(paged.sort()).toEqual([...NAMES.filter((n) => !n.includes('/')), 'sub dir/'].sort());
    const down = join(work, 'rclone-down');
    await rc('copy', 'fdfs:rclone-tree', down);
    await expectSameTree(down);
    await rc('delete', 'fdfs:rclone-tree');
    expect(await rc('lsf', '-R', 'fdfs:rclone-tree')).toBe('');
    expect(await keysOf('rclone-tree')).toEqual([]);
    await rc('rmdir', 'fdfs:rclone-tree');
    expect(await rc('lsd', 'fdfs:')).not.toContain('rclone-tree');
  });
});

describe.skipIf(skips.s3cmd !== undefined)(title('s3cmd', skips.s3cmd), () => {
  it('mb, put --recursive, ls, get --recursive, del --recursive, rb', { timeout: 30_000 }, async () => {
    const s3cmd = S3CMD as string;
    const cfg = join(work, 's3cfg');
    const host = s3.endpoint.replace('http://', '');
    await writeFile(
      cfg,
      [
        '[default]',
        `access_key = ${s3.accessKeyId}`,
        `secret_key = ${s3.secretAccessKey}`,
        `host_base = ${host}`,
        `host_bucket = ${host}`,
        'use_https = False',
        'signature_v2 = False',
        'bucket_location = us-east-1',
        'multipart_chunk_size_mb = 5', // files past 5 MiB go as multipart uploads
        '',
      ].join('\n'),
    );
    const sc = (...args: string[]) => tool(s3cmd, ['-c', cfg, ...args]);
    await sc('mb', 's3://s3cmd-tree');
    await sc('put', '--recursive', `${tree}/`, 's3://s3cmd-tree/');
    await expectUploaded('s3cmd-tree');
    const lines = (await sc('ls', '--recursive', 's3://s3cmd-tree')).split('\n').filter(Boolean);
    // "DATE TIME SIZE s3://bucket/key": the key is everything after the URL prefix.
    const listed = lines.map((l) => l.slice(l.indexOf('s3://s3cmd-tree/') + 's3://s3cmd-tree/'.length));
    expect(listed.sort()).toEqual([...NAMES].sort());
    const down = join(work, 's3cmd-down');
    await mkdir(down);
    await sc('get', '--recursive', 's3://s3cmd-tree/', `${down}/`);
    await expectSameTree(down);
    await sc('del', '--recursive', '--force', 's3://s3cmd-tree');
    expect(await sc('ls', '--recursive', 's3://s3cmd-tree')).toBe('');
    expect(await keysOf('s3cmd-tree')).toEqual([]);
    await sc('rb', 's3://s3cmd-tree');
    expect(await sc('ls')).not.toContain('s3cmd-tree');
  });
});

describe.skipIf(skips.aws !== undefined)(title('aws cli', skips.aws), () => {
  // Each aws cli 2 command starts a Python interpreter (~1 s of CPU): more time on a busy machine
  // (50 s alone under load here, past 60 s in the full suite).
  it('s3 mb, sync up, sync again, cp bucket to bucket, sync down, rb --force', {
    timeout: 120_000,
  }, async () => {
    const aws = AWS as string;
    const config = join(work, 'aws-config');
    await writeFile(
      config,
      '[default]\nregion = us-east-1\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n',
    );
    const env = toolEnv({
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-no-credentials'),
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_PAGER: '',
    });
    const a = (...args: string[]) => tool(aws, ['--endpoint-url', s3.endpoint, ...args], env);
    await a('s3', 'mb', 's3://aws-tree');
    await a('s3', 'sync', '--no-progress', tree, 's3://aws-tree/');
    await expectUploaded('aws-tree');
    // A second sync finds nothing to send: the names, sizes and times listed back match the tree.
    expect(await a('s3', 'sync', '--no-progress', tree, 's3://aws-tree/')).toBe('');
    // Bucket to bucket: the 6 MB object goes by UploadPartCopy, after a GetObjectTagging on its source.
    await a('s3', 'cp', '--recursive', '--only-show-errors', 's3://aws-tree/', 's3://aws-tree/copy/');
    const copy = await s3.client().send(new HeadObjectCommand({ Bucket: 'aws-tree', Key: `copy/${BIG}` }));
    expect(copy.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const down = join(work, 'aws-down');
    await a('s3', 'sync', '--no-progress', 's3://aws-tree', down);
    const both = new Map(treeHashes);
    for (const [name, hash] of treeHashes) both.set(join('copy', name), hash);
    expect(await hashes(down)).toEqual(both);
    // rb --force: every key deleted by its listing, then the bucket (BucketNotEmpty had one stayed).
    await a('s3', 'rb', '--force', 's3://aws-tree');
    expect(await bucketsOf()).not.toContain('aws-tree');
  });
});

/**
 * boto3 with paths, pages of two keys, a delimiter, multipart upload_file and copy (UploadPartCopy),
 * a Range across the part boundary, presigned PUT and GET, DeleteObjects. signature_version s3v4
 * here; botocore 1.29's (Debian 12) default SigV2 presigning is tried below.
 */
const BOTO3_SCRIPT = `
import hashlib, json, os, sys, urllib.request
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=os.environ['EP'], region_name='us-east-1',
    aws_access_key_id=os.environ['AK'], aws_secret_access_key=os.environ['SK'],
    config=Config(s3={'addressing_style': 'path'}, signature_version='s3v4'))
keys = json.loads(os.environ['KEYS'])
b = 'boto3-keys'
out = {}
s3.create_bucket(Bucket=b)
for k in keys:
    s3.put_object(Bucket=b, Key=k, Body=k.encode())
def pages(name, **kw):
    got = {'keys': [], 'prefixes': []}
    for p in s3.get_paginator(name).paginate(Bucket=b, PaginationConfig={'PageSize': 2}, **kw):
        got['keys'] += [o['Key'] for o in p.get('Contents', [])]
        got['prefixes'] += [c['Prefix'] for c in p.get('CommonPrefixes', [])]
    return got
out['v2'] = pages('list_objects_v2')
out['v1'] = pages('list_objects')
out['v1_delimited'] = pages('list_objects', Delimiter='/')
out['v2_delimited'] = pages('list_objects_v2', Delimiter='/')
out['get'] = [s3.get_object(Bucket=b, Key=k)['Body'].read().decode() for k in keys]
big = os.environ['BIG']
cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
s3.upload_file(big, b, 'big/6 MB+.bin', Config=cfg)
out['big_etag'] = s3.head_object(Bucket=b, Key='big/6 MB+.bin')['ETag']
s3.download_file(b, 'big/6 MB+.bin', os.environ['BACK'], Config=cfg)
with open(os.environ['BACK'], 'rb') as f:
    out['big_sha256'] = hashlib.sha256(f.read()).hexdigest()
s3.copy({'Bucket': b, 'Key': 'big/6 MB+.bin'}, b, 'big/copy', Config=cfg)
out['big_copy_etag'] = s3.head_object(Bucket=b, Key='big/copy')['ETag']
out['range'] = s3.get_object(Bucket=b, Key='big/copy', Range='bytes=5242878-5242881')['Body'].read().hex()
put = s3.generate_presigned_url('put_object', Params={'Bucket': b, 'Key': keys[1]}, ExpiresIn=60)
urllib.request.urlopen(urllib.request.Request(put, data=b'presigned put', method='PUT'))
get = s3.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': keys[1]}, ExpiresIn=60)
out['presigned'] = urllib.request.urlopen(get).read().decode()
out['tags'] = s3.get_object_tagging(Bucket=b, Key=keys[1])['TagSet']
s3.copy_object(Bucket=b, Key=keys[0] + ' copy', CopySource={'Bucket': b, 'Key': keys[0]})
out['copied'] = s3.get_object(Bucket=b, Key=keys[0] + ' copy')['Body'].read().decode()
every = keys + [keys[0] + ' copy', 'big/6 MB+.bin', 'big/copy']
res = s3.delete_objects(Bucket=b, Delete={'Objects': [{'Key': k} for k in every]})
out['deleted'] = sorted(d['Key'] for d in res.get('Deleted', []))
out['errors'] = res.get('Errors', [])
out['after'] = s3.list_objects_v2(Bucket=b).get('KeyCount')
s3.delete_bucket(Bucket=b)
out['buckets'] = [x['Name'] for x in s3.list_buckets()['Buckets']]
json.dump(out, sys.stdout)
`;

describe.skipIf(skips.boto3 !== undefined)(title('boto3', skips.boto3), () => {
  it('put, paged v1/v2 listings with and without a delimiter, get, multipart upload_file and copy, range, presign, delete_objects', {
    timeout: 30_000,
  }, async () => {
    const keys = [
      ...Object.keys(SMALL),
      'dir/a&b+c',
      'dir/sub/ü ö',
      'percent%20literal',
      'tab\there',
      'plus+and space',
      '~tilde*star(paren)',
    ];
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const env = toolEnv({
      EP: s3.endpoint,
      AK: s3.accessKeyId,
      SK: s3.secretAccessKey,
      KEYS: JSON.stringify(keys),
      BIG: join(tree, BIG),
      // Outside the tree: the tools after this one upload the tree as it is.
      BACK: join(work, 'boto3-big.back'),
      AWS_CONFIG_FILE: join(work, 'aws-no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-no-credentials'),
    });
    const out = JSON.parse(await tool(PYTHON as string, ['-c', BOTO3_SCRIPT], env)) as {
      v2: { keys: string[] };
      v1: { keys: string[] };
      v1_delimited: { keys: string[]; prefixes: string[] };
      v2_delimited: { keys: string[]; prefixes: string[] };
      get: string[];
      big_etag: string;
      big_sha256: string;
      big_copy_etag: string;
      range: string;
      presigned: string;
      tags: unknown[];
      copied: string;
      deleted: string[];
      errors: unknown[];
      after: number;
      buckets: string[];
    };
    expect(out.v2.keys).toEqual(sorted);
    expect(out.v1.keys).toEqual(sorted);
    const top = sorted.filter((k) => !k.includes('/'));
    const prefixes = [...new Set(sorted.filter((k) => k.includes('/')).map((k) => `${k.split('/')[0]}/`))];
    for (const listing of [out.v1_delimited, out.v2_delimited]) {
      expect(listing.keys).toEqual(top);
      expect(listing.prefixes.sort()).toEqual(prefixes.sort());
    }
    expect(out.get).toEqual(keys);
    expect(out.big_etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    expect(out.big_sha256).toBe(treeHashes.get(BIG));
    expect(out.big_copy_etag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const big = await readFile(join(tree, BIG));
    expect(out.range).toBe(big.subarray(5242878, 5242882).toString('hex'));
    expect(out.presigned).toBe('presigned put');
    expect(out.tags).toEqual([]);
    expect(out.copied).toBe(keys[0]);
    expect(out.errors).toEqual([]);
    expect(out.deleted).toEqual([...keys, `${keys[0]} copy`, 'big/6 MB+.bin', 'big/copy'].sort());
    expect(out.after).toBe(0);
    expect(out.buckets).not.toContain('boto3-keys');
  });
});

/** The S3 error code of an XML error body. */
const codeOf = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

/** A URL with one character of its Signature parameter changed. */
function tampered(url: string): string {
  const u = new URL(url);
  const sig = u.searchParams.get('Signature') ?? '';
  u.searchParams.set('Signature', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
  return u.toString();
}

describe.skipIf(skips.s3cmd !== undefined)(title('s3cmd with SigV2', skips.s3cmd), () => {
  it('--signature-v2 mb, put, ls, get, del; signurl fetched, tampered and expired', {
    timeout: 30_000,
  }, async () => {
    const s3cmd = S3CMD as string;
    const cfg = join(work, 's3cfg-v2');
    const host = s3.endpoint.replace('http://', '');
    await writeFile(
      cfg,
      [
        '[default]',
        `access_key = ${s3.accessKeyId}`,
        `secret_key = ${s3.secretAccessKey}`,
        `host_base = ${host}`,
        `host_bucket = ${host}`,
        'use_https = False',
        'signature_v2 = True',
        '',
      ].join('\n'),
    );
    const sc = (...args: string[]) => tool(s3cmd, ['-c', cfg, ...args]);
    const name = 'a&b+c.txt';
    await sc('mb', 's3://s3cmd-v2');
    await sc('put', '--add-header=x-amz-meta-colour:blue', join(tree, name), `s3://s3cmd-v2/${name}`);
    await sc('put', join(tree, 'sub dir/x y.png'), 's3://s3cmd-v2/sub dir/x y.png');
    const head = await s3.client().send(new HeadObjectCommand({ Bucket: 's3cmd-v2', Key: name }));
    expect(head.Metadata?.colour).toBe('blue');
    expect(await keysOf('s3cmd-v2')).toEqual([name, 'sub dir/x y.png']);
    expect(await sc('ls', '--recursive', 's3://s3cmd-v2')).toContain('s3://s3cmd-v2/sub dir/x y.png');
    const down = join(work, 's3cmd-v2-down.png');
    await sc('get', 's3://s3cmd-v2/sub dir/x y.png', down);
    expect(await readFile(down)).toEqual(SMALL['sub dir/x y.png']);
    // signurl: a SigV2 query-string URL, fetched by a client that knows no credentials.
    const url = (await sc('signurl', 's3://s3cmd-v2/sub dir/x y.png', '+300')).trim();
    expect(url).toMatch(/[?&]AWSAccessKeyId=[^&]+&Expires=\d+&Signature=/);
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(SMALL['sub dir/x y.png']);
    const bad = await fetch(tampered(url));
    expect([bad.status, codeOf(await bad.text())]).toEqual([403, 'SignatureDoesNotMatch']);
    // An absolute expiry (epoch seconds) a minute ago: signed correctly, and expired.
    const past = String(Math.floor(Date.now() / 1000) - 60);
    const old = await fetch((await sc('signurl', 's3://s3cmd-v2/sub dir/x y.png', past)).trim());
    expect([old.status, codeOf(await old.text())]).toEqual([403, 'AccessDenied']);
    await sc('del', '--recursive', '--force', 's3://s3cmd-v2');
    expect(await keysOf('s3cmd-v2')).toEqual([]);
    await sc('rb', 's3://s3cmd-v2');
    expect(await bucketsOf()).not.toContain('s3cmd-v2');
  });
});

/**
 * boto3 as Debian ships it (1.26): generate_presigned_url signs with SigV2 unless told otherwise
 * (Content-Type rides in the query), and signature_version 's3' signs every call with SigV2 in the
 * Authorization header, the path-style bucket resource as '/bucket/'.
 */
const BOTO3_V2_SCRIPT = `
import http.client, json, os, sys, urllib.error, urllib.parse, urllib.request
import boto3
from botocore.config import Config
kw = dict(endpoint_url=os.environ['EP'], region_name='us-east-1',
    aws_access_key_id=os.environ['AK'], aws_secret_access_key=os.environ['SK'])
s3 = boto3.client('s3', config=Config(s3={'addressing_style': 'path'}), **kw)
v2 = boto3.client('s3', config=Config(s3={'addressing_style': 'path'}, signature_version='s3'), **kw)
b = 'boto3-v2'
key = os.environ['KEY']
out = {'boto3': boto3.__version__}
def fetch(req):
    try:
        with urllib.request.urlopen(req) as r:
            return [r.status, r.read().decode(), r.headers.get('content-type')]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode(), None]
v2.create_bucket(Bucket=b)
put = s3.generate_presigned_url('put_object', Params={'Bucket': b, 'Key': key, 'ContentType': 'text/plain'}, ExpiresIn=300)
out['put_url'] = put
# Sent without a Content-Type header: the signed one is the query's.
bare = urllib.parse.urlsplit(put)
conn = http.client.HTTPConnection(bare.netloc)
conn.request('PUT', bare.path + '?' + bare.query, body=b'bare put')
res = conn.getresponse()
out['bare_put'] = [res.status, res.read().decode()]
conn.close()
out['put'] = fetch(urllib.request.Request(put, data=b'presigned v2 put', method='PUT', headers={'Content-Type': 'text/plain'}))
get = s3.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': key}, ExpiresIn=300)
out['get_url'] = get
out['get'] = fetch(get)
# A response override is a signed sub-resource: presigned with it, it applies.
typed = s3.generate_presigned_url('get_object', Params={'Bucket': b, 'Key': key, 'ResponseContentType': 'application/x-v2'}, ExpiresIn=300)
out['typed'] = fetch(typed)
out['other_key'] = fetch(get.replace(urllib.parse.quote(key), 'other'))
v2.put_object(Bucket=b, Key='meta', Body=b'header v2', Metadata={'who': 'boto3'}, ContentType='text/x-v2')
h = v2.head_object(Bucket=b, Key='meta')
out['head'] = [h['Metadata'], h['ContentType']]
out['list'] = [o['Key'] for o in v2.list_objects(Bucket=b).get('Contents', [])]
# One by one: botocore 1.29 signs a path-style sub-resource twice with SigV2 ('/b?delete?delete',
# boto/botocore#2962), which S3 refuses as well.
for k in out['list']:
    v2.delete_object(Bucket=b, Key=k)
v2.delete_bucket(Bucket=b)
json.dump(out, sys.stdout)
`;

describe.skipIf(skips.boto3 !== undefined)(title('boto3 with SigV2', skips.boto3), () => {
  it('presigned GET and PUT by default (SigV2 query), every call with signature_version s3', {
    timeout: 30_000,
  }, async () => {
    const key = 'v2 dir/a&b+c é.txt';
    const env = toolEnv({
      EP: s3.endpoint,
      AK: s3.accessKeyId,
      SK: s3.secretAccessKey,
      KEY: key,
      AWS_CONFIG_FILE: join(work, 'aws-no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'aws-no-credentials'),
    });
    const out = JSON.parse(await tool(PYTHON as string, ['-c', BOTO3_V2_SCRIPT], env)) as {
      boto3: string;
      put_url: string;
      put: [number, string, string | null];
      bare_put: [number, string];
      get_url: string;
      get: [number, string, string | null];
      typed: [number, string, string | null];
      other_key: [number, string, string | null];
      head: [Record<string, string>, string];
      list: string[];
    };
    // Only a boto3 that still presigns with SigV2 tests it; a newer one presigns with SigV4.
    if (out.put_url.includes('X-Amz-Signature')) {
      expect(out.boto3 >= '1.36').toBe(true);
    } else {
      expect(out.put_url).toContain('AWSAccessKeyId=');
      expect(out.get_url).toContain('AWSAccessKeyId=');
    }
    expect(out.bare_put).toEqual([200, '']);
    expect(out.put.slice(0, 2)).toEqual([200, '']);
    expect(out.get.slice(0, 2)).toEqual([200, 'presigned v2 put']);
    expect(out.get[2]).toBe('text/plain');
    expect([out.typed[0], out.typed[2]]).toEqual([200, 'application/x-v2']);
    expect([out.other_key[0], codeOf(out.other_key[1])]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(out.head).toEqual([{ who: 'boto3' }, 'text/x-v2']);
    expect(out.list).toEqual(['meta', key]);
    expect(await bucketsOf()).not.toContain('boto3-v2');
  });
});

/**
 * GET of a URL whose host is a `*.localhost` name, connecting to the node: nothing resolves
 * `bucket.localhost` on this machine (no DNS, no /etc/hosts wildcard), so the lookup is ours.
 */
function getVia(url: string): Promise<{ status: number; body: Buffer }> {
  const lookup = (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts.all) cb(null, [{ address: s3.node.s3.host, family: 4 }]);
    else cb(null, s3.node.s3.host, 4);
  };
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { lookup: lookup as never }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/**
 * Virtual-host style (`<bucket>.localhost:<port>`, a domain the endpoint always serves). Nothing
 * resolves `*.localhost` here, so each tool reaches the node through its own proxy setting, the
 * node itself: rclone through HTTP_PROXY (Go proxies every host but localhost and loopback IPs),
 * s3cmd through proxy_host/proxy_port. Both then send absolute-form request lines whose Host is the
 * bucket's name, and sign that Host.
 */
describe('virtual-host-style addressing through the tools', () => {
  it.skipIf(skips.rclone !== undefined)(
    'rclone with force_path_style = false: mkdir, copy, check, lsf, delete, rmdir',
    {
      timeout: 60_000,
    },
    async () => {
      const config = join(work, 'rclone-vhost.conf');
      const port = s3.node.s3.port;
      await writeFile(
        config,
        [
          '[vhost]',
          'type = s3',
          'provider = Other',
          `endpoint = http://localhost:${port}`,
          `access_key_id = ${s3.accessKeyId}`,
          `secret_access_key = ${s3.secretAccessKey}`,
          'region = us-east-1',
          'force_path_style = false',
          'upload_cutoff = 5M',
          'chunk_size = 5M',
          '',
        ].join('\n'),
      );
      const env = toolEnv({ HTTP_PROXY: `http://${s3.node.s3.host}:${port}`, NO_PROXY: '' });
      const rc = (...args: string[]) => tool(RCLONE as string, ['--config', config, ...args], env);
      await rc('mkdir', 'vhost:rclone-vhost');
      await rc('copy', tree, 'vhost:rclone-vhost');
      await expectUploaded('rclone-vhost');
      await rc('check', tree, 'vhost:rclone-vhost');
      const listed = (await rc('lsf', '-R', '--files-only', 'vhost:rclone-vhost'))
        .split('\n')
        .filter(Boolean);
      expect(listed.sort()).toEqual([...NAMES].sort());
      await rc('delete', 'vhost:rclone-vhost');
      expect(await keysOf('rclone-vhost')).toEqual([]);
      await rc('rmdir', 'vhost:rclone-vhost');
      expect(await bucketsOf()).not.toContain('rclone-vhost');
    },
  );

  it.skipIf(skips.s3cmd !== undefined)(
    's3cmd with host_bucket %(bucket)s.localhost, SigV4 and SigV2: mb, put, ls, get, signurl, del, rb',
    {
      timeout: 60_000,
    },
    async () => {
      const port = s3.node.s3.port;
      const name = 'sub dir/x y.png';
      for (const v2 of [false, true]) {
        const bucket = v2 ? 's3cmd-vhost-v2' : 's3cmd-vhost';
        const cfg = join(work, `s3cfg-vhost-${v2}`);
        await writeFile(
          cfg,
          [
            '[default]',
            `access_key = ${s3.accessKeyId}`,
            `secret_key = ${s3.secretAccessKey}`,
            `host_base = localhost:${port}`,
            `host_bucket = %(bucket)s.localhost:${port}`,
            'use_https = False',
            `proxy_host = ${s3.node.s3.host}`,
            `proxy_port = ${port}`,
            `signature_v2 = ${v2 ? 'True' : 'False'}`,
            'bucket_location = us-east-1',
            '',
          ].join('\n'),
        );
        const sc = (...args: string[]) => tool(S3CMD as string, ['-c', cfg, ...args]);
        await sc('mb', `s3://${bucket}`);
        await sc('put', join(tree, name), `s3://${bucket}/${name}`);
        expect(await keysOf(bucket)).toEqual([name]);
        expect(await sc('ls', '--recursive', `s3://${bucket}`)).toContain(`s3://${bucket}/${name}`);
        const down = join(work, `${bucket}.png`);
        await sc('get', `s3://${bucket}/${name}`, down);
        expect(await readFile(down)).toEqual(SMALL[name]);
        // A SigV2 URL on the bucket's host name, its resource /bucket/key.
        const url = (await sc('signurl', `s3://${bucket}/${name}`, '+300')).trim();
        expect(url.startsWith(`http://${bucket}.localhost:${port}/`)).toBe(true);
        const got = await getVia(url);
        expect([got.status, got.body.equals(SMALL[name] as Buffer)]).toEqual([200, true]);
        expect((await getVia(tampered(url))).status).toBe(403);
        await sc('del', `s3://${bucket}/${name}`);
        await sc('rb', `s3://${bucket}`);
        expect(await bucketsOf()).not.toContain(bucket);
      }
    },
  );
});

describe.skipIf(!anyRuns)('after the tools', () => {
  it('no spool file outlived its request', async () => {
    expect(await s3.tempFiles()).toEqual([]);
  });
});
