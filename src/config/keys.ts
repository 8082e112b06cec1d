/**
 * Which conf keys each role reads, and which stock FastDFS 6.x keys it accepts but ignores.
 * A key in neither list draws a warning, so a typo does not silently fall back to a default.
 */

export type ConfRole = 'tracker' | 'storage' | 'client' | 'http';

/** FastDFS allows up to 256 store paths (store_path0 … store_path255). */
export const MAX_STORE_PATHS = 256;

const trackerUsed = [
  'disabled',
  'bind_addr',
  'port',
  'connect_timeout',
  'network_timeout',
  'base_path',
  'max_connections',
  'max_connections_per_host',
  'first_header_timeout',
  'store_lookup',
  'store_group',
  'store_server',
  'store_path',
  'download_server',
  'reserved_storage_space',
  'check_active_interval',
  'storage_sync_file_max_delay',
  'storage_sync_file_max_time',
  'use_storage_id',
  'storage_ids_filename',
  'id_type_in_filename',
  'stat_layout',
  'allow_hosts',
  'log_level',
  'use_trunk_file',
  'slot_min_size',
  'slot_max_size',
  'trunk_alloc_alignment_size',
  'trunk_free_space_merge',
  'delete_unused_trunk_files',
  'trunk_file_size',
  'trunk_create_file_advance',
  'trunk_create_file_time_base',
  'trunk_create_file_interval',
  'trunk_create_file_space_threshold',
  'trunk_init_check_occupying',
  'trunk_init_reload_from_binlog',
  'trunk_compress_binlog_min_interval',
  'trunk_compress_binlog_interval',
  'trunk_compress_binlog_time_base',
  'trunk_binlog_max_backups',
] as const;

const storageUsed = [
  'disabled',
  'group_name',
  'bind_addr',
  'port',
  'connect_timeout',
  'network_timeout',
  'heart_beat_interval',
  'stat_report_interval',
  'base_path',
  'max_connections',
  'max_connections_per_host',
  'first_header_timeout',
  'buff_size',
  'cache_max_file_size',
  'cache_max_memory',
  'cache_revalidate',
  'work_processes',
  'store_path_count',
  ...Array.from({ length: MAX_STORE_PATHS }, (_, i) => `store_path${i}`),
  'subdir_count_per_path',
  'tracker_server',
  'file_distribute_path_mode',
  'file_distribute_rotate_count',
  'reserved_storage_space',
  'sync_wait_msec',
  'sync_interval',
  'sync_push_connections',
  'upload_priority',
  'durable_writes',
  'advertise_addr',
  'server_id',
  'allow_hosts',
  'log_level',
];

const clientUsed = [
  'connect_timeout',
  'network_timeout',
  'base_path',
  'tracker_server',
  'use_connection_pool',
  'connection_pool_max_idle_time',
  'log_level',
] as const;

// The gateway (http.conf): the client keys it reaches the cluster with, plus its own http.* keys.
const httpUsed = [
  ...clientUsed,
  'http.bind_addr',
  'http.server_port',
  'http.max_connections',
  'http.header_timeout',
  'http.group_name',
  'http.public_url',
  'http.default_content_type',
  'http.cache_max_age',
  'http.multi_range.enabled',
  'http.multi_range.enabed', // sic: read as an alias, some 6.x sample files spell it so
  'http.anti_steal.check_token',
  'http.anti_steal.token_ttl',
  'http.anti_steal.secret_key',
  'http.anti_steal.token_check_fail',
  'http.anti_steal.allow_legacy_ts',
  'http.jwt.secret',
  'http.jwt.kid',
  'http.jwt.previous_secret',
  'http.jwt.max_ttl',
  'http.auth.api_key',
  'http.auth.jwt_secret',
  'http.upload.max_size',
  'http.upload.max_files',
  'http.upload.max_fields',
  'http.cache.max_file_size',
  'http.cache.max_memory',
  'http.cache.revalidate',
  's3.server_port',
  's3.region',
  's3.credential',
  's3.domain',
  's3.max_object_size',
  's3.gc_interval',
  's3.gc_grace',
  's3.namespace',
  'http.image.presets',
  'http.image.quality',
  'http.image.max_dimension',
  'http.image.max_pixels',
  'http.image.max_input_size',
  'http.image.max_renders',
  'http.image.max_queue',
  'http.image.render_timeout',
];

// Log file handling (rotation, compression, retention) is left to the process supervisor.
const logKeys = [
  'sync_log_buff_interval',
  'log_file_rotate_everyday',
  'log_file_rotate_time',
  'log_file_compress_old',
  'log_file_compress_days_before',
  'log_file_rotate_on_size',
  'log_file_keep_days',
  'log_file_delete_old_time',
];

// Log keys of releases before 6.14, which had no [error-log]/[access-log] sections.
const legacyErrorLogKeys = [
  'rotate_error_log',
  'error_log_rotate_time',
  'compress_old_error_log',
  'compress_error_log_days_before',
  'rotate_error_log_size',
];

const legacyAccessLogKeys = [
  'use_access_log',
  'rotate_access_log',
  'access_log_rotate_time',
  'compress_old_access_log',
  'compress_access_log_days_before',
  'rotate_access_log_size',
];

const sectionLogKeys = [
  ...logKeys.map((k) => `error-log.${k}`),
  ...logKeys.map((k) => `access-log.${k}`),
  'access-log.enabled',
  'access-log.time_precision',
];

// http.conf is meant to be pulled in with `#include http.conf`; the gateway has its own settings.
const httpConfKeys = [
  'http.default_content_type',
  'http.mime_types_filename',
  'http.anti_steal.check_token',
  'http.anti_steal.token_ttl',
  'http.anti_steal.secret_key',
  'http.anti_steal.token_check_fail',
  'http.multi_range.enabled',
  'http.multi_range.enabed', // sic: the spelling of some 6.x sample files
];

// Threads, io_uring and process identity have no meaning in a Node process.
const processKeys = [
  'address_family',
  'use_io_uring',
  'use_send_zc',
  'accept_threads',
  'work_threads',
  'thread_stack_size',
  'run_by_group',
  'run_by_user',
  'use_connection_pool',
  'connection_pool_max_idle_time',
];

const trackerUnused = [
  ...processKeys,
  ...logKeys,
  ...legacyErrorLogKeys,
  ...sectionLogKeys,
  ...httpConfKeys,
  'response_ip_addr_size',
  'min_buff_size',
  'max_buff_size',
  'storage_ip_changed_auto_adjust',
  'trust_storage_server_id',
  'store_slave_file_use_link',
  'http.server_port',
  'http.check_alive_interval',
  'http.check_alive_type',
  'http.check_alive_uri',
];

const storageUnused = [
  ...processKeys,
  ...logKeys,
  ...legacyErrorLogKeys,
  ...legacyAccessLogKeys,
  ...sectionLogKeys,
  ...httpConfKeys,
  'client_bind',
  'disk_rw_separated',
  'disk_reader_threads',
  'disk_writer_threads',
  'disk_recovery_threads',
  'sync_min_threads',
  'sync_max_threads',
  'sync_start_time',
  'sync_end_time',
  'write_mark_file_freq',
  'fsync_after_written_bytes',
  'sync_binlog_buff_interval',
  'sync_stat_file_interval',
  'if_alias_prefix',
  'check_file_duplicate',
  'file_signature_method',
  'key_namespace',
  'keep_alive',
  'file_sync_skip_invalid_record',
  'compress_binlog',
  'compress_binlog_time',
  'check_store_path_mark',
  'http.domain_name',
  'http.server_port',
];

const clientUnused = [
  ...httpConfKeys,
  'connect_first_by',
  'load_fdfs_parameters_from_tracker',
  'use_storage_id',
  'storage_ids_filename',
  'http.tracker_server_port',
];

// mime.types: the gateway uses the mime-db table; FastDFS' storage-side HTTP keys mean nothing here.
const httpUnused = [
  'http.mime_types_filename',
  'http.domain_name',
  'http.tracker_server_port',
  'connect_first_by',
  'load_fdfs_parameters_from_tracker',
  'use_storage_id',
  'storage_ids_filename',
];

const used: Readonly<Record<ConfRole, ReadonlySet<string>>> = {
  tracker: new Set(trackerUsed),
  storage: new Set(storageUsed),
  client: new Set(clientUsed),
  http: new Set(httpUsed),
};

const unused: Readonly<Record<ConfRole, ReadonlySet<string>>> = {
  tracker: new Set(trackerUnused),
  storage: new Set(storageUnused),
  client: new Set(clientUnused),
  http: new Set(httpUnused),
};

/** The keys a role's loader reads; the CLI routes `--set key=value` by this. */
export function keysOf(role: ConfRole): ReadonlySet<string> {
  return used[role];
}

/** Stock FastDFS keys a role accepts without a warning and does not act on. */
export function knownUnusedKeysOf(role: ConfRole): ReadonlySet<string> {
  return unused[role];
}

/** True when `key` draws no unknown-key warning for `role`. */
export function isKnownKey(role: ConfRole, key: string): boolean {
  if (used[role].has(key) || unused[role].has(key)) return true;
  // store_path#_readonly exists per path index.
  return role === 'storage' && /^store_path\d+_readonly$/.test(key);
}

/** The `--set` values meant for `role`: those whose key its loader reads. */
export function overridesFor<V>(role: ConfRole, all: ReadonlyMap<string, V>): Map<string, V> {
  return new Map([...all].filter(([key]) => used[role].has(key)));
}
