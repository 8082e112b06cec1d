/** http.conf → HttpConfig: the gateway's own keys plus the client keys it reaches the cluster with. */
import { applyOverrides, type ConfEntry, type RawConf, readConfFile } from './conf-file.js';
import { imageOf } from './http-image.js';
import { badValue, ConfReader } from './reader.js';
import {
  type BuildOptions,
  basePathOf,
  type Loaded,
  type Overrides,
  relativeToConf,
  timeouts,
  trackerServersOf,
} from './shared.js';
import type { ClientConfig, HttpConfig, JwtKey, S3Config, S3Credential } from './types.js';
import { isValidGroupName } from './values.js';

export const HTTP_DEFAULT_PORT = 8080;
const MB = 1024 * 1024;
const DAY = 86_400_000;
// HS256 keys shorter than the hash output make brute force cheaper than the MAC promises.
const MIN_JWT_SECRET = 32;
const MIN_API_KEY = 16;

function secret(r: ConfReader, key: string, min: number): string {
  const entry = r.entry(key);
  if (entry === undefined || entry.value === '') return '';
  if (entry.value.length < min) throw badValue(entry, key, `a secret of at least ${min} characters`);
  return entry.value;
}

function jwtKeys(r: ConfReader): JwtKey[] {
  return r.all('http.jwt.previous_secret').map((entry: ConfEntry) => {
    const colon = entry.value.indexOf(':');
    const kid = entry.value.slice(0, colon);
    const value = entry.value.slice(colon + 1);
    if (colon <= 0 || !/^[A-Za-z0-9_.-]{1,64}$/.test(kid) || value.length < MIN_JWT_SECRET) {
      throw badValue(
        entry,
        'http.jwt.previous_secret',
        `kid:secret (kid of [A-Za-z0-9_.-], secret of at least ${MIN_JWT_SECRET} characters)`,
      );
    }
    return Object.freeze({ kid, secret: value });
  });
}

function publicUrlOf(r: ConfReader): string {
  const entry = r.entry('http.public_url');
  if (entry === undefined || entry.value === '') return '';
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(entry.value)) {
    throw badValue(entry, 'http.public_url', 'an http:// or https:// base URL without query');
  }
  return entry.value.replace(/\/+$/, '');
}

function antiStealOf(r: ConfReader, options: BuildOptions): HttpConfig['antiSteal'] {
  const checkToken = r.bool('http.anti_steal.check_token', false);
  const secretKey = r.string('http.anti_steal.secret_key', '');
  if (checkToken && secretKey === '') throw r.missing('http.anti_steal.secret_key (check_token is on)');
  const fail = r.entry('http.anti_steal.token_check_fail');
  return Object.freeze({
    checkToken,
    tokenTtl: r.duration('http.anti_steal.token_ttl', 600_000, 's', 1000),
    secretKey,
    tokenCheckFail: fail === undefined || fail.value === '' ? '' : relativeToConf(fail, '', options),
    allowLegacyTs: r.bool('http.anti_steal.allow_legacy_ts', false),
  });
}

const MIN_S3_SECRET = 8;
const GB = 1024 * MB;

function s3CredentialsOf(r: ConfReader): S3Credential[] {
  const seen = new Set<string>();
  return r.all('s3.credential').map((entry: ConfEntry) => {
    const colon = entry.value.indexOf(':');
    const accessKey = entry.value.slice(0, colon);
    const secretKey = entry.value.slice(colon + 1);
    if (colon <= 0 || !/^[A-Za-z0-9_.-]{3,128}$/.test(accessKey) || secretKey.length < MIN_S3_SECRET) {
      throw badValue(
        entry,
        's3.credential',
        `ACCESS_KEY:SECRET_KEY (access key of 3..128 [A-Za-z0-9_.-], secret of at least ${MIN_S3_SECRET} characters)`,
      );
    }
    if (seen.has(accessKey))
      throw badValue(entry, 's3.credential', `one line per access key (${accessKey} repeats)`);
    seen.add(accessKey);
    return Object.freeze({ accessKey, secretKey });
  });
}

function s3Of(r: ConfReader): S3Config {
  const port =
    r.has('s3.server_port') && r.string('s3.server_port', '') !== ''
      ? r.int('s3.server_port', 0, 0, 65535)
      : null;
  const region = r.string('s3.region', 'us-east-1');
  if (!/^[a-z0-9-]{1,32}$/.test(region)) {
    throw badValue(r.entry('s3.region') as ConfEntry, 's3.region', 'a region name such as us-east-1');
  }
  const domain = r.string('s3.domain', '');
  if (!/^([a-z0-9.-]+(,\s*[a-z0-9.-]+)*)?$/i.test(domain)) {
    throw badValue(r.entry('s3.domain') as ConfEntry, 's3.domain', 'host names separated by commas');
  }
  const namespace = r.string('s3.namespace', '');
  if (namespace !== '' && !/^postgres(ql)?:\/\/[^\s]+$/i.test(namespace)) {
    const entry = r.entry('s3.namespace') as ConfEntry;
    // The refusal names the value; a password in it stays out of the message.
    const shown = { ...entry, value: entry.value.replace(/(:\/\/[^:/@\s]*:)[^@\s]*@/, '$1[redacted]@') };
    throw badValue(
      shown,
      's3.namespace',
      'empty (lmdb under the data folder) or postgres://user@host:port/database',
    );
  }
  return Object.freeze({
    port,
    region,
    credentials: Object.freeze(s3CredentialsOf(r)),
    domain,
    maxObjectSize: r.size('s3.max_object_size', 5 * GB, 1, Number.MAX_SAFE_INTEGER - 1),
    gcInterval: r.duration('s3.gc_interval', 3_600_000, 's', 0),
    gcGrace: r.duration('s3.gc_grace', 600_000, 's', 0),
    namespace,
  });
}

function clientOf(r: ConfReader, options: BuildOptions): ClientConfig {
  return Object.freeze({
    ...timeouts(r),
    basePath: basePathOf(r, options, './data/gateway'),
    trackerServers: trackerServersOf(r, options),
    // Unlike a one-shot client, the gateway serves many requests: keep connections by default.
    useConnectionPool: r.bool('use_connection_pool', true),
    connectionPoolMaxIdleTime: r.duration('connection_pool_max_idle_time', 3_600_000, 's', 1),
    logLevel: r.logLevel('log_level', 'info'),
  });
}

/** Builds an HttpConfig from already-read values. */
export function httpConfigFrom(raw: RawConf, options: BuildOptions = {}): Loaded<HttpConfig> {
  const r = new ConfReader(raw, 'http', options.source ?? '<conf>');
  const group = r.entry('http.group_name');
  if (group !== undefined && group.value !== '' && !isValidGroupName(group.value)) {
    throw badValue(group, 'http.group_name', 'a group name of 1 to 16 letters or digits');
  }
  // The misspelt key of some FastDFS samples counts when the right one is absent.
  const multiRangeKey = r.has('http.multi_range.enabled')
    ? 'http.multi_range.enabled'
    : 'http.multi_range.enabed';
  const config: HttpConfig = {
    bindAddr: r.string('http.bind_addr', ''),
    port: r.int('http.server_port', HTTP_DEFAULT_PORT, 0, 65535),
    maxConnections: r.int('http.max_connections', 4096, 1, 1_000_000),
    // Node wants requestTimeout (300 s, whole uploads) ≥ headersTimeout: keep it below that.
    headerTimeout: Math.min(r.duration('http.header_timeout', 5000, 's', 100), 300_000),
    client: clientOf(r, options),
    groupName: group?.value ?? '',
    publicUrl: publicUrlOf(r),
    defaultContentType: r.string('http.default_content_type', 'application/octet-stream'),
    cacheMaxAge: r.duration('http.cache_max_age', 30 * DAY, 's', 0),
    multiRange: r.bool(multiRangeKey, true),
    antiSteal: antiStealOf(r, options),
    jwt: Object.freeze({
      secret: secret(r, 'http.jwt.secret', MIN_JWT_SECRET),
      kid: r.string('http.jwt.kid', ''),
      previous: Object.freeze(jwtKeys(r)),
      maxTtl: r.duration('http.jwt.max_ttl', 7 * DAY, 's', 1000),
    }),
    auth: Object.freeze({
      apiKeys: Object.freeze(
        r.all('http.auth.api_key').map((e) => {
          if (e.value.length < MIN_API_KEY)
            throw badValue(e, 'http.auth.api_key', `a key of at least ${MIN_API_KEY} characters`);
          return e.value;
        }),
      ),
      jwtSecret: secret(r, 'http.auth.jwt_secret', MIN_JWT_SECRET),
    }),
    upload: Object.freeze({
      maxSize: r.size('http.upload.max_size', 100 * MB, 1, Number.MAX_SAFE_INTEGER - 1),
      maxFiles: r.int('http.upload.max_files', 16, 1, 1000),
      maxFields: r.int('http.upload.max_fields', 64, 1, 10_000),
    }),
    cache: Object.freeze({
      maxFileSize: r.size('http.cache.max_file_size', 256 * 1024, 0, 16 * MB),
      maxMemory: r.size('http.cache.max_memory', 64 * MB, 0, Number.MAX_SAFE_INTEGER),
      revalidate: r.duration('http.cache.revalidate', 1000, 'ms', 0),
    }),
    s3: s3Of(r),
    image: imageOf(r),
  };
  const kid = config.jwt.kid;
  if (kid !== '' && !/^[A-Za-z0-9_.-]{1,64}$/.test(kid)) {
    throw badValue(r.entry('http.jwt.kid') as ConfEntry, 'http.jwt.kid', 'a key id of [A-Za-z0-9_.-]');
  }
  return { config: Object.freeze(config), warnings: r.finish() };
}

/** Reads http.conf (and its includes); `overrides` replace the file's values per key. */
export async function loadHttpConfig(path: string, overrides?: Overrides): Promise<Loaded<HttpConfig>> {
  const raw = applyOverrides(await readConfFile(path), overrides);
  return httpConfigFrom(raw, { source: path });
}

/** An HttpConfig with no conf file (what `fdfs start` runs): defaults plus overrides. */
export function defaultHttpConfig(overrides?: Overrides): Loaded<HttpConfig> {
  return httpConfigFrom(applyOverrides(new Map(), overrides), { noFile: true });
}
