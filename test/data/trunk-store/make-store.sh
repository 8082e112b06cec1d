#!/usr/bin/env bash
# Makes store.tar.gz and manifest.json: a storage directory written by stock FastDFS 6.16.1 with
# trunk files on (use_trunk_file=true in tracker.conf, trunk_file_size=4MB, slot_max_size=64KB).
# Needs fdfs_trackerd / fdfs_storaged on the PATH (../shared/perf/setup-fastdfs.sh) and `npm run
# build` (the uploads go through dist/src/client). Not run by the tests: they read its output.
# Two storage runs, so the store holds both storage_trunk.dat (saved at the restart) and trunk
# binlog records after the offset that file names.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
WORK=${WORK:-/tmp/trunk-store-gen}
TRACKER_IP=127.0.0.50
STORAGE_IP=127.0.0.51
TPORT=22150
SPORT=23150

stop() { # pidfile
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$WORK/storage/data/fdfs_storaged.pid"
  stop "$WORK/tracker/data/fdfs_trackerd.pid"
}
trap cleanup EXIT

cleanup
rm -rf "$WORK"
mkdir -p "$WORK/tracker" "$WORK/storage"

cat >"$WORK/tracker.conf" <<EOF
bind_addr = $TRACKER_IP
port = $TPORT
base_path = $WORK/tracker
store_lookup = 0
reserved_storage_space = 1%
log_level = info
use_trunk_file = true
slot_min_size = 256
slot_max_size = 64KB
trunk_alloc_alignment_size = 256
trunk_free_space_merge = true
delete_unused_trunk_files = false
trunk_file_size = 4MB
trunk_create_file_advance = false
trunk_init_check_occupying = false
trunk_init_reload_from_binlog = false
trunk_compress_binlog_min_interval = 0
trunk_compress_binlog_interval = 0
trunk_binlog_max_backups = 0
store_slave_file_use_link = false
EOF

cat >"$WORK/storage.conf" <<EOF
group_name = group1
bind_addr = $STORAGE_IP
client_bind = true
port = $SPORT
heart_beat_interval = 2
stat_report_interval = 5
base_path = $WORK/storage
store_path_count = 1
store_path0 = $WORK/storage
subdir_count_per_path = 4
tracker_server = $TRACKER_IP:$TPORT
file_distribute_path_mode = 0
file_distribute_rotate_count = 3
sync_binlog_buff_interval = 1
sync_stat_file_interval = 1
thread_stack_size = 512KB
log_level = info
EOF

fdfs_trackerd "$WORK/tracker.conf" start
start_storage() {
  fdfs_storaged "$WORK/storage.conf" start
  # Uploads fail until the tracker names a trunk server; the node step retries its first upload.
  sleep 3
}
start_storage

node "$HERE/make-store.mjs" phase1 "$TRACKER_IP:$TPORT" "$WORK/manifest.json" "$ROOT"
sleep 2
stop "$WORK/storage/data/fdfs_storaged.pid"
start_storage
node "$HERE/make-store.mjs" phase2 "$TRACKER_IP:$TPORT" "$WORK/manifest.json" "$ROOT"
sleep 2
cleanup

# Logs and pid files are the run's, not the store's; the 4x4 empty subdirs come back on unpack.
rm -rf "$WORK/storage/logs" "$WORK/storage/data/fdfs_storaged.pid"
tar -C "$WORK/storage" --sort=name --owner=0 --group=0 --numeric-owner -czf "$HERE/store.tar.gz" .
cp "$WORK/manifest.json" "$HERE/manifest.json"

# FastDFS' own answer for the free list: a third start replays the trunk binlog past the offset
# storage_trunk.dat names and saves the list again (merged); tests compare their load with it.
fdfs_trackerd "$WORK/tracker.conf" start
start_storage
sleep 2
cleanup
cp "$WORK/storage/data/storage_trunk.dat" "$HERE/expected-storage_trunk.dat"
ls -l "$HERE/store.tar.gz"
