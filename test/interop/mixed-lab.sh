#!/usr/bin/env bash
# Manual procedure for issue 12 (README: "Mixed clusters"): stock FastDFS and fastdfs-ts daemons
# in one group, each case of the issue run with the real daemons and checked file by file. CI has
# no FastDFS; test/interop-replay.test.ts replays recordings of it instead.
#
# Needs FastDFS 6.16 in PATH (fdfs_trackerd, fdfs_storaged, fdfs_monitor and the client tools, as
# ../shared/perf/setup-fastdfs.sh installs them, with /etc/fdfs/*.conf), `npm run build` done, and
# four free loopback addresses (default 127.0.0.40-43: LAB_NET=127.0.0.40 → .40 stock tracker,
# .41 stock storage, .42 our storage, .43 our tracker). Run from the project root:
#   test/interop/mixed-lab.sh case1 <ids 0|1> <first stock|ours>  # stock tracker; the other storage joins later
#   test/interop/mixed-lab.sh case2 <ids 0|1> <first stock|ours>  # our tracker, the same
#   test/interop/mixed-lab.sh case3 <ids 0|1>                     # both trackers; kill the leader twice
#   test/interop/mixed-lab.sh case4 <victim stock|ours> <role receiver|sender> [N=300, at least 300]
#   test/interop/mixed-lab.sh stop                                # stop every daemon of the lab
# The lab lives in $LAB (default /tmp/fdfs-mixed-lab), wiped at each start; daemons are left
# running for a look around (fdfs_monitor "$LAB/cl/client.conf") until `stop`.
# Another FastDFS build: put its bin first in PATH and name its sample confs' folder, e.g. 6.06
# installed under /opt/fdfs606 (DESTDIR): PATH=/opt/fdfs606/usr/bin:$PATH FDFS_CONF=/opt/fdfs606/etc/fdfs
# On one machine a stock tracker's connections to other trackers leave from the default source
# address, so our tracker refuses its join to the leader as a FastDFS tracker would (README). For
# case 3 as on separate hosts, as root: ip route add local <.43>/32 dev lo src <.40> table local
set -u
W=$(pwd)
L=${LAB:-/tmp/fdfs-mixed-lab}
NET=${LAB_NET:-127.0.0.40}
P=${NET%.*}
N0=${NET##*.}
ST=$P.$N0 SS=$P.$((N0 + 1)) OS=$P.$((N0 + 2)) OT=$P.$((N0 + 3))
FDFS="node $W/dist/src/cli/main.js"
CONF=${FDFS_CONF:-/etc/fdfs}

mk_stock_tracker() { # ids
  mkdir -p "$L/st"
  sed -e "s#^bind_addr *=.*#bind_addr = $ST#" -e "s#^base_path *=.*#base_path = $L/st#" -e 's#^port *=.*#port = 22122#' \
    -e "s#^use_storage_id *=.*#use_storage_id = $([ "$1" = 1 ] && echo true || echo false)#" \
    -e "s#^storage_ids_filename *=.*#storage_ids_filename = $L/storage_ids.conf#" \
    -e 's#^check_active_interval *=.*#check_active_interval = 30#' "$CONF/tracker.conf" >"$L/st/tracker.conf"
}
start_stock_tracker() { fdfs_trackerd "$L/st/tracker.conf" start; }
stop_stock_tracker() { fdfs_trackerd "$L/st/tracker.conf" stop >/dev/null 2>&1; }
start_our_tracker() { # ids
  mkdir -p "$L/ot"
  (exec $FDFS tracker "$W/conf/tracker.conf" --set bind_addr=$OT --set base_path="$L/ot" \
    --set use_storage_id=$([ "$1" = 1 ] && echo true || echo false) --set storage_ids_filename="$L/storage_ids.conf" \
    --set check_active_interval=30s >"$L/ot/log" 2>&1) &
  echo $! >"$L/ot/pid"
}
stop_our_tracker() { [ -f "$L/ot/pid" ] && kill "$(cat "$L/ot/pid")" 2>/dev/null; rm -f "$L/ot/pid"; }
start_stock_storage() { # trackers(comma)
  mkdir -p "$L/ss"
  [ -f "$L/ss/storage.conf" ] || {
    sed -e "s#^bind_addr *=.*#bind_addr = $SS#" -e "s#^base_path *=.*#base_path = $L/ss#" -e "s#^store_path0 *=.*#store_path0 = $L/ss#" \
      -e 's#^store_path_count *=.*#store_path_count = 1#' -e '/^store_path[1-9]/d' -e 's#^port *=.*#port = 23000#' \
      -e 's#^group_name *=.*#group_name = group1#' -e 's#^subdir_count_per_path *=.*#subdir_count_per_path = 256#' \
      -e 's#^heart_beat_interval *=.*#heart_beat_interval = 2#' -e 's#^stat_report_interval *=.*#stat_report_interval = 5#' \
      "$CONF/storage.conf" |
      # our trackers where the sample's are (the file ends in [sections])
      awk -v tl="$1" 'BEGIN { n = split(tl, a, ",") }
        /^tracker_server/ { if (!done) for (i = 1; i <= n; i++) print "tracker_server = " a[i]; done = 1; next }
        { print }' >"$L/ss/storage.conf"
  }
  fdfs_storaged "$L/ss/storage.conf" start
}
start_our_storage() { # trackers(comma) ids
  mkdir -p "$L/os"
  local ts=()
  for t in ${1//,/ }; do ts+=(--set "tracker_server=$t"); done
  [ "$2" = 1 ] && ts+=(--set server_id=100002)
  (exec $FDFS storage "$W/conf/storage.conf" --set bind_addr=$OS --set base_path="$L/os" --set store_path0="$L/os" \
    "${ts[@]}" --set heart_beat_interval=2 >>"$L/os/log" 2>&1) &
  echo $! >"$L/os/pid"
}
kill9() { # stock|ours
  if [ "$1" = stock ]; then kill -9 "$(cat "$L/ss/data/fdfs_storaged.pid")"; else kill -9 "$(cat "$L/os/pid")"; fi
}
stop_all() {
  [ -f "$L/ss/storage.conf" ] && fdfs_storaged "$L/ss/storage.conf" stop >/dev/null 2>&1
  [ -f "$L/os/pid" ] && kill "$(cat "$L/os/pid")" 2>/dev/null && rm -f "$L/os/pid"
  [ -f "$L/st/tracker.conf" ] && stop_stock_tracker
  stop_our_tracker
  sleep 1
}
mk_client() { # name trackers(comma)
  mkdir -p "$L/$1"
  { printf 'connect_timeout = 5\nnetwork_timeout = 30\nbase_path = %s\nlog_level = warn\n' "$L/$1"
    for t in ${2//,/ }; do echo "tracker_server = $t"; done; } >"$L/$1/client.conf"
}
fresh() { stop_all; rm -rf "$L"; mkdir -p "$L"; printf '100001 group1 %s\n100002 group1 %s\n' $SS $OS >"$L/storage_ids.conf"; }

# Storages with their status as a tracker lists them (fdfs_monitor).
status_at() { fdfs_monitor "$1" 2>/dev/null | grep -E "^\s+(id|host|ip_addr) =" | paste - - | sed 's/\t\t/ /g;s/^\s*//'; }
wait_active_at() { # conf n
  local i
  for i in $(seq 1 150); do [ "$(status_at "$1" | grep -c ACTIVE)" -ge "$2" ] && return 0; sleep 1; done
  status_at "$1"; return 1
}
leader_at() { $FDFS monitor "$1" --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).leader??"none")}catch{console.log("none")}})'; }
# where a file id lives under a store path: group1/M00/HH/LL/name -> <store>/data/HH/LL/name
on_disk() { echo "$2/data/${1#*/M00/}"; }
# every stored file (path and md5) under a store path's data/, sync state and daemon files aside
tree_sum() { (cd "$1/data" && find . -path ./sync -prune -o -type f -print | grep -v -E '\.dat$|fdfs_storaged|\.mark$|\.pid$|/\.' | sort | xargs -r md5sum); }
converged() {
  local a b
  a=$(tree_sum "$L/ss"); b=$(tree_sum "$L/os")
  if [ "$a" = "$b" ]; then echo "converged $(echo "$a" | grep -c .) files"; else echo "DIFF:"; diff <(echo "$a") <(echo "$b") | head -10; fi
}
wait_converged() { local i r; for i in $(seq 1 ${1:-60}); do r=$(converged); case "$r" in converged*) break ;; esac; sleep 1; done; echo "$r"; }

# The exercise: uploads to both sides, appender, metadata, deletes; then both disks and downloads.
exercise() { # client.conf
  local conf=$1 T=$L/ex.$RANDOM fails=0 ids=() e id f d n
  mkdir -p "$T"
  for n in 1 2 3; do head -c $((n * 3000 + 17)) /dev/urandom >"$T/f$n.bin"; done
  for n in 1 2 3; do
    ids+=("$(fdfs_upload_file "$conf" "$T/f$n.bin" $SS:23000)|$T/f$n.bin")
    ids+=("$(fdfs_upload_file "$conf" "$T/f$n.bin" $OS:23000)|$T/f$n.bin")
  done
  head -c 3000 /dev/urandom >"$T/ap1.bin"; head -c 2000 /dev/urandom >"$T/ap2.bin"
  id=$(fdfs_upload_appender "$conf" "$T/ap1.bin"); fdfs_append_file "$conf" "$id" "$T/ap2.bin"
  cat "$T/ap1.bin" "$T/ap2.bin" >"$T/ap.bin"; ids+=("$id|$T/ap.bin")
  local m1=${ids[0]%%|*} m2=${ids[1]%%|*} d1=${ids[2]%%|*} d2=${ids[3]%%|*}
  $FDFS meta set "$conf" "$m1" color=red size=10 >/dev/null; $FDFS meta set "$conf" "$m2" owner=bob >/dev/null
  fdfs_delete_file "$conf" "$d1"; fdfs_delete_file "$conf" "$d2"
  head -c 12345 /dev/urandom >"$T/our.bin"; id=$($FDFS upload "$conf" "$T/our.bin"); ids+=("$id|$T/our.bin")
  sleep 5
  for e in "${ids[@]}"; do
    id=${e%%|*}; f=${e#*|}
    if [ "$id" = "$d1" ] || [ "$id" = "$d2" ]; then
      for d in "$L/ss" "$L/os"; do [ -e "$(on_disk "$id" "$d")" ] && { echo "DELETE NOT SYNCED $id in $d"; fails=$((fails + 1)); }; done
      continue
    fi
    for d in "$L/ss" "$L/os"; do cmp -s "$(on_disk "$id" "$d")" "$f" || { echo "MISSING OR DIFFERENT $id in $d"; fails=$((fails + 1)); }; done
    fdfs_download_file "$conf" "$id" "$T/dl" >/dev/null 2>&1 && cmp -s "$T/dl" "$f" || { echo "DOWNLOAD FAIL $id"; fails=$((fails + 1)); }
  done
  for id in $m1 $m2; do cmp -s "$(on_disk "$id" "$L/ss")-m" "$(on_disk "$id" "$L/os")-m" || { echo "META DIFFERS $id"; fails=$((fails + 1)); }; done
  echo "exercise: files=${#ids[@]} deleted=2 meta=2 appender=1 fails=$fails; npm fdfs: $(npm_client "$conf"); $(wait_converged 10)"
}

# npm `fdfs` (a client nobody here wrote): upload and download back through the conf's trackers.
npm_client() { # client.conf
  local trackers
  trackers=$(grep '^tracker_server' "$1" | sed 's/.*= *//' | paste -sd,)
  (cd "$W" && node --input-type=module -e '
    import Fdfs from "fdfs";
    const trackers = process.argv[1].split(",").map((t) => ({ host: t.split(":")[0], port: Number(t.split(":")[1]) }));
    const quiet = { log() {}, debug() {}, info() {}, warn() {}, error() {} };
    const c = new Fdfs({ trackers, timeout: 10000, logger: quiet });
    const data = Buffer.from(Array.from({ length: 12345 }, (_, i) => i % 251));
    try {
      const id = await c.upload(data, { ext: "bin" });
      const parts = [];
      const { Writable } = await import("node:stream");
      await c.download(id, { target: new Writable({ write(b, _e, cb) { parts.push(b); cb(); } }) });
      console.log(Buffer.concat(parts).equals(data) ? `ok ${id}` : `DIFFERENT ${id}`);
    } catch (e) { console.log(`FAILED ${e.message}`); }
    process.exit(0);' "$trackers")
}

case_1_2() { # stock|ours(tracker) ids first
  local tr=$1 ids=$2 first=$3 tl t0 t1 n
  fresh
  if [ "$tr" = stock ]; then tl=$ST:22122; mk_stock_tracker "$ids"; start_stock_tracker; else tl=$OT:22122; start_our_tracker "$ids"; fi
  sleep 1.5; mk_client cl "$tl"
  t0=$(date +%s)
  if [ "$first" = stock ]; then start_stock_storage "$tl"; else start_our_storage "$tl" "$ids"; fi
  wait_active_at "$L/cl/client.conf" 1 || { echo "first storage not ACTIVE"; return 1; }
  echo "first storage ($first) ACTIVE after $(($(date +%s) - t0)) s"
  # old data on the first storage: 20 files, metadata on 5, an appender appended to, 3 deleted
  local at pre=()
  at=$([ "$first" = stock ] && echo $SS || echo $OS):23000
  mkdir -p "$L/pre"
  for n in $(seq 1 20); do head -c $((n * 997)) /dev/urandom >"$L/pre/p$n.bin"; pre+=("$(fdfs_upload_file "$L/cl/client.conf" "$L/pre/p$n.bin" "$at")"); done
  for n in 0 1 2 3 4; do $FDFS meta set "$L/cl/client.conf" "${pre[$n]}" k=v$n >/dev/null; done
  local ap; ap=$(fdfs_upload_appender "$L/cl/client.conf" "$L/pre/p3.bin" "$at"); fdfs_append_file "$L/cl/client.conf" "$ap" "$L/pre/p4.bin"
  for n in 17 18 19; do fdfs_delete_file "$L/cl/client.conf" "${pre[$n]}"; done
  t1=$(date +%s)
  if [ "$first" = stock ]; then start_our_storage "$tl" "$ids"; else start_stock_storage "$tl"; fi
  wait_active_at "$L/cl/client.conf" 2 || { echo "newcomer not ACTIVE"; return 1; }
  echo "newcomer ACTIVE after $(($(date +%s) - t1)) s; old data: $(wait_converged 60) ($(($(date +%s) - t1)) s after it started)"
  exercise "$L/cl/client.conf"
  echo "--- fdfs_monitor"; fdfs_monitor "$L/cl/client.conf" 2>&1 | grep -E "tracker server is|Storage [0-9]|^\s+(id|host|ip_addr) =|source storage|last_synced"
  echo "--- fdfs monitor"; $FDFS monitor "$L/cl/client.conf" 2>&1 | grep -E "tracker server is|leader|Storage [0-9]|^\s+(id|ip_addr) =|synced from"
}

start_pair() { # ids: both trackers, both storages, all ACTIVE on both
  fresh
  mk_stock_tracker "$1"; start_stock_tracker; start_our_tracker "$1"; sleep 2
  mk_client cl $ST:22122,$OT:22122; mk_client cr $OT:22122,$ST:22122; mk_client c1 $ST:22122; mk_client c2 $OT:22122
  local t0; t0=$(date +%s)
  start_stock_storage $ST:22122,$OT:22122; start_our_storage $ST:22122,$OT:22122 "$1"
  wait_active_at "$L/c1/client.conf" 2 && echo "both ACTIVE on the stock tracker after $(($(date +%s) - t0)) s" || return 1
  wait_active_at "$L/c2/client.conf" 2 && echo "both ACTIVE on our tracker after $(($(date +%s) - t0)) s" || return 1
}

case3() { # ids
  local ids=$1 k o t round
  start_pair "$ids" || return 1
  conf_of() { [ "$1" = $ST:22122 ] && echo "$L/c1/client.conf" || echo "$L/c2/client.conf"; }
  for t in $(seq 1 30); do k=$(leader_at "$L/c1/client.conf"); [ "$k" != none ] && [ "$k" = "$(leader_at "$L/c2/client.conf")" ] && break; sleep 1; done
  echo "leader: $k (both trackers say so)"
  exercise "$L/cl/client.conf"
  for round in 1 2; do
    k=$(leader_at "$L/c2/client.conf"); o=$([ "$k" = $ST:22122 ] && echo $OT:22122 || echo $ST:22122)
    echo "== kill the leader $k"
    if [ "$k" = $ST:22122 ]; then stop_stock_tracker; else stop_our_tracker; fi
    t=$(date +%s)
    for _ in $(seq 1 150); do [ "$(leader_at "$(conf_of "$o")")" = "$o" ] && break; sleep 1; done
    echo "$o leads after $(($(date +%s) - t)) s"
    # clients list the dead tracker first: they fail over
    exercise "$([ "$k" = $ST:22122 ] && echo "$L/cl/client.conf" || echo "$L/cr/client.conf")"
    if [ "$k" = $ST:22122 ]; then start_stock_tracker; else start_our_tracker "$ids"; fi
    t=$(date +%s)
    wait_active_at "$(conf_of "$k")" 2 && echo "restarted $k lists both ACTIVE after $(($(date +%s) - t)) s, leader $(leader_at "$(conf_of "$k")")"
  done
  echo "--- fdfs_monitor (stock tracker)"; fdfs_monitor "$L/c1/client.conf" 2>&1 | grep -E "^\s+(id|host|ip_addr) =|last_synced"
  echo "--- fdfs monitor (ours)"; $FDFS monitor "$L/c2/client.conf" 2>&1 | grep -E "leader|^\s+(id|ip_addr) =|synced from"
}

case4() { # victim role N
  local victim=$1 role=$2 n=${3:-300} a b i c t0 t1 ids=()
  start_pair 0 || return 1
  other() { [ "$1" = stock ] && echo ours || echo stock; }
  dir() { [ "$1" = stock ] && echo "$L/ss" || echo "$L/os"; }
  addr() { [ "$1" = stock ] && echo $SS:23000 || echo $OS:23000; }
  start() { if [ "$1" = stock ]; then start_stock_storage $ST:22122,$OT:22122; else start_our_storage $ST:22122,$OT:22122 0; fi; }
  applied() { cat "$(dir "$1")"/data/sync/binlog.[0-9]* 2>/dev/null | awk '$2 ~ /^[a-z]$/' | wc -l; }
  if [ "$role" = receiver ]; then b=$victim; a=$(other "$victim"); else a=$victim; b=$(other "$victim"); fi
  echo "kill -9 of $victim as $role: $a pushes to $b, $n files"
  kill9 "$b"; sleep 1
  mkdir -p "$L/bl"
  for i in $(seq 1 "$n"); do head -c $(((RANDOM % 200 + 1) * 1024)) /dev/urandom >"$L/bl/f$i"; ids+=("$(fdfs_upload_file "$L/cl/client.conf" "$L/bl/f$i" "$(addr "$a")")"); done
  for i in $(seq 1 10); do $FDFS meta set "$L/cl/client.conf" "${ids[$i]}" k=v$i >/dev/null; done
  for i in $(seq 271 300); do fdfs_delete_file "$L/cl/client.conf" "${ids[$((i - 1))]}"; done
  start "$b"; t0=$(date +%s.%N)
  # a stock receiver writes its binlog once a second: kill at its first rows
  local k=$((n / 4)); [ "$b" = stock ] && k=1
  for i in $(seq 1 600); do c=$(applied "$b"); [ "$c" -ge $k ] && break; sleep 0.05; done
  kill9 "$victim"; t1=$(date +%s.%N)
  echo "killed $victim after $(echo "$t1 - $t0" | bc | cut -c1-4) s, $(tree_sum "$(dir "$b")" | grep -c -v -- '-m$') of $((n - 30)) files on $b"
  sleep 2; start "$victim"; t0=$(date +%s)
  echo "after the restart: $(wait_converged 180) ($(($(date +%s) - t0)) s)"
  local d miss bad dele tmp p
  for d in "$L/ss" "$L/os"; do
    miss=0 bad=0 dele=0
    for i in $(seq 1 "$n"); do
      p=$(on_disk "${ids[$((i - 1))]}" "$d")
      if [ "$i" -ge 271 ] && [ "$i" -le 300 ]; then [ -e "$p" ] && dele=$((dele + 1)); continue; fi
      [ -f "$p" ] || { miss=$((miss + 1)); continue; }
      cmp -s "$p" "$L/bl/f$i" || bad=$((bad + 1))
    done
    tmp=$(find "$d/data" -path '*/.tmp/*' -type f | wc -l)
    echo "$d: missing=$miss different=$bad deleted-but-there=$dele temp-files=$tmp"
  done
  status_at "$L/c1/client.conf"; status_at "$L/c2/client.conf"
}

cmd=${1:-}
shift || true
case "$cmd" in
case1) case_1_2 stock "${1:-0}" "${2:-stock}" ;;
case2) case_1_2 ours "${1:-0}" "${2:-stock}" ;;
case3) case3 "${1:-0}" ;;
case4) case4 "${1:-ours}" "${2:-receiver}" "${3:-300}" ;;
stop) stop_all ;;
*) sed -n '2,20p' "$0"; exit 2 ;;
esac
