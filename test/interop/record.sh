#!/usr/bin/env bash
# Records stock FastDFS daemons talking to each other (issue 12): every packet between two
# trackers, two storages, a third tracker that starts late and the C client tools, through
# test/interop/recorder.ts. Output: test/data/interop/<scene>.json, replayed by
# test/interop-replay.test.ts against our tracker and storage (CI has no FastDFS).
#
# usage (project root, after npm run build; FastDFS 6.16 installed, root for /proc lookups):
#   test/interop/record.sh plain     # storages known by address
#   test/interop/record.sh ids       # use_storage_id = true (storage_ids.conf), slaves as links
# Addresses: daemons on 127.0.0.170-174, their proxies (what they know each other by) on .180-.184.
set -u
SCENE=${1:-plain}
ROOT=$(pwd)
OUT=$ROOT/test/data/interop/$SCENE.json
L=$(mktemp -d /tmp/fdfs-record.XXXXXX)
PIDS=()
cleanup() {
  for d in s1 s2; do [ -f "$L/$d/storage.conf" ] && fdfs_storaged "$L/$d/storage.conf" stop >/dev/null 2>&1; done
  for d in t1 t2 t3; do [ -f "$L/$d/tracker.conf" ] && fdfs_trackerd "$L/$d/tracker.conf" stop >/dev/null 2>&1; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1; [ -n "${KEEP:-}" ] && echo "kept $L" || rm -rf "$L"
}
trap cleanup EXIT
wait_port() { local i; for ((i = 0; i < $3 * 10; i++)); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
step() { echo "[$(date +%T)] $*"; }

# s1 lists t1 and t2; s2 also t3, which starts last: an empty stock tracker fetches the system
# files from the others at the first join. (A fresh stock tracker refuses joins with EAGAIN while
# a listed tracker is unreachable and none knows a group yet, so s1 does not list t3.)
tracker_conf() { # dir real-ip
  mkdir -p "$L/$1"
  sed -e "s#^bind_addr *=.*#bind_addr = $2#" -e "s#^base_path *=.*#base_path = $L/$1#" -e 's#^port *=.*#port = 22122#' \
      -e "s#^use_storage_id *=.*#use_storage_id = $([ "$SCENE" = ids ] && echo true || echo false)#" \
      -e "s#^storage_ids_filename *=.*#storage_ids_filename = $L/storage_ids.conf#" \
      -e "s#^store_slave_file_use_link *=.*#store_slave_file_use_link = $([ "$SCENE" = ids ] && echo true || echo false)#" \
      -e 's#^check_active_interval *=.*#check_active_interval = 20#' /etc/fdfs/tracker.conf >"$L/$1/tracker.conf"
}
storage_conf() { # dir real-ip trackers
  mkdir -p "$L/$1"; local TRACKERS=$3
  sed -e "s#^bind_addr *=.*#bind_addr = $2#" -e "s#^base_path *=.*#base_path = $L/$1#" -e "s#^store_path0 *=.*#store_path0 = $L/$1#" \
      -e 's#^store_path_count *=.*#store_path_count = 1#' -e '/^store_path[1-9]/d' -e 's#^port *=.*#port = 23000#' \
      -e 's#^subdir_count_per_path *=.*#subdir_count_per_path = 4#' \
      -e "0,/^tracker_server *=.*/s##tracker_server = ${TRACKERS//,/\\ntracker_server = }#" -e '/^tracker_server = 192/d' \
      -e 's#^group_name *=.*#group_name = group1#' -e 's#^heart_beat_interval *=.*#heart_beat_interval = 2#' \
      -e 's#^stat_report_interval *=.*#stat_report_interval = 5#' /etc/fdfs/storage.conf >"$L/$1/storage.conf"
}
printf 'connect_timeout = 5\nnetwork_timeout = 30\nbase_path = %s\nlog_level = warn\ntracker_server = 127.0.0.180:22122\n' "$L" >"$L/client.conf"
printf 'connect_timeout = 5\nnetwork_timeout = 30\nbase_path = %s\nlog_level = warn\ntracker_server = 127.0.0.183:22122\n' "$L" >"$L/client2.conf"
printf '100001 group1 127.0.0.181\n100002 group1 127.0.0.182\n' >"$L/storage_ids.conf"

node dist/test/interop/recorder.js --out "$OUT" --note "FastDFS 6.16.1, scene $SCENE: see test/interop/record.sh" \
  --node t1=127.0.0.180:22122@127.0.0.170 --node t2=127.0.0.183:22122@127.0.0.173 --node t3=127.0.0.184:22122@127.0.0.174 \
  --node s1=127.0.0.181:23000@127.0.0.171 --node s2=127.0.0.182:23000@127.0.0.172 \
  --who "$L/t1/=t1" --who "$L/t2/=t2" --who "$L/t3/=t3" --who "$L/s1/=s1" --who "$L/s2/=s2" &
PIDS+=($!)
step "trackers t1, t2"
tracker_conf t1 127.0.0.170; tracker_conf t2 127.0.0.173; tracker_conf t3 127.0.0.174
fdfs_trackerd "$L/t1/tracker.conf" start; fdfs_trackerd "$L/t2/tracker.conf" start
wait_port 127.0.0.180 22122 10 && wait_port 127.0.0.183 22122 10 || { echo "trackers or recorder not up"; exit 2; }
step "storage s1"
storage_conf s1 127.0.0.171 127.0.0.180:22122,127.0.0.183:22122; fdfs_storaged "$L/s1/storage.conf" start
wait_port 127.0.0.181 23000 60 || exit 2
sleep 8
step "client operations on s1"
T=$L/files; mkdir -p "$T"
for n in 1 2 3; do head -c $((n * 1500 + 7)) /dev/urandom >"$T/f$n.bin"; done
F1=$(fdfs_upload_file "$L/client.conf" "$T/f1.bin")
F2=$(fdfs_upload_file "$L/client.conf" "$T/f2.bin")
fdfs_test "$L/client.conf" upload "$T/f3.bin" >"$T/test.out" 2>&1      # master + metadata + slave
fdfs_appender_test "$L/client.conf" "$T/f1.bin" >"$T/appender.out" 2>&1 # appender: truncate, append, modify
AP=$(fdfs_upload_appender "$L/client.conf" "$T/f2.bin")
fdfs_append_file "$L/client.conf" "$AP" "$T/f1.bin"
fdfs_regenerate_filename "$L/client.conf" "$AP" >/dev/null            # rename
fdfs_test "$L/client.conf" setmeta group1 "${F1#group1/}" M color=red,size=10 >/dev/null
fdfs_test "$L/client.conf" setmeta group1 "${F1#group1/}" O color=blue >/dev/null  # an update (U)
fdfs_delete_file "$L/client.conf" "$F2"
fdfs_file_info "$L/client.conf" "$F1" >/dev/null
fdfs_download_file "$L/client.conf" "$F1" "$T/dl" && cmp -s "$T/dl" "$T/f1.bin" || echo "download differs"
sleep 3
step "storage s2 joins: sync source, old data"
storage_conf s2 127.0.0.172 127.0.0.180:22122,127.0.0.183:22122,127.0.0.184:22122; fdfs_storaged "$L/s2/storage.conf" start
wait_port 127.0.0.182 23000 60 || exit 2
sleep 12
step "client operations on s2, synced to s1"
F4=$(fdfs_upload_file "$L/client2.conf" "$T/f3.bin" 127.0.0.182:23000)
AP2=$(fdfs_upload_appender "$L/client2.conf" "$T/f1.bin" 127.0.0.182:23000)
fdfs_append_file "$L/client2.conf" "$AP2" "$T/f2.bin"
fdfs_test "$L/client2.conf" setmeta group1 "${F4#group1/}" O owner=bob >/dev/null
fdfs_delete_file "$L/client2.conf" "$F4"
sleep 6
step "monitors"
fdfs_monitor "$L/client.conf" >"$T/mon1.out" 2>&1
fdfs_monitor "$L/client2.conf" >"$T/mon2.out" 2>&1
step "tracker t3 starts empty: fetches the system files"
fdfs_trackerd "$L/t3/tracker.conf" start
wait_port 127.0.0.184 22122 10
sleep 15
grep -h "ACTIVE\|WAIT_SYNC\|OFFLINE\|leader" "$T/mon1.out" | head -5
step "stop"
