#!/usr/bin/env bash
# scripts/ceph-rgw.sh start|stop|status -- the one-node Ceph cluster (1 mon, 1 OSD) + RADOS Gateway
# that the S3 tests, the multi-instance test and `npm run bench` use as a real S3 endpoint on 127.0.0.1.
#
#   start   reuse the running cluster when it answers, else (re)create it; prints the endpoint and
#           keys and writes $WHARF_CEPH_DIR/s3.env (shell exports) and s3.json (read by the tests)
#   stop    stop exactly the daemons this script started (recorded PIDs) and delete the data dir
#   status  exit 0 and print the env file when the cluster answers, exit 1 otherwise
#
# Needs (Debian): apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl
# Environment (optional): WHARF_CEPH_DIR (/tmp/wharf-ceph), RGW_PORT (7480), MON_PORT (3300),
#   OSD_BACKEND (bluestore|memstore), OSD_SIZE_GB (20), READY_TIMEOUT (120 s per step).
# Concurrent callers are serialised by a lock file, so many test processes may call `start` at once.
# Recipe and pitfalls: ../shared/tools/ceph-rgw/README (checksums WHEN_REQUIRED, forcePathStyle).
set -euo pipefail

DIR="${WHARF_CEPH_DIR:-/tmp/wharf-ceph}"
RGW_PORT="${RGW_PORT:-7480}"
MON_PORT="${MON_PORT:-3300}"
OSD_BACKEND="${OSD_BACKEND:-bluestore}"
OSD_SIZE_GB="${OSD_SIZE_GB:-20}"
READY_TIMEOUT="${READY_TIMEOUT:-120}"
ENDPOINT="http://127.0.0.1:$RGW_PORT"
CONF="$DIR/ceph.conf"
KEYRING="$DIR/keyring"

t0=$(date +%s.%N)
log() { printf '[ceph-rgw %6.1fs] %s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }
die() { echo "ceph-rgw: ERROR: $*" >&2; exit 1; }

# A daemon PID is ours only while its command line names our ceph.conf (guards against PID reuse).
ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$CONF"; }

alive() {
  [ -f "$DIR/s3.env" ] && [ -f "$DIR/s3.json" ] || return 1
  local n pid
  for n in mon.a osd.0 rgw.a; do
    [ -f "$DIR/run/$n.pid" ] || return 1
    pid="$(cat "$DIR/run/$n.pid")"
    ours "$pid" || return 1
  done
  # shellcheck disable=SC1091
  (source "$DIR/s3.env" && curl -fsS -o /dev/null --max-time 10 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$S3_ENDPOINT/") >/dev/null 2>&1
}

stop_one() {
  local name=$1 f="$DIR/run/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do ours "$pid" || break; sleep 0.1; done
    if ours "$pid"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

stop_all() {
  [ -d "$DIR" ] || return 0
  [ -f "$CONF" ] || [ -z "$(ls -A "$DIR" 2>/dev/null)" ] || die "$DIR is not a cluster of this script; refusing to delete it"
  local n f
  for n in rgw.a osd.0 mon.a; do stop_one "$n"; done
  for f in "$DIR"/run/*.pid; do [ -e "$f" ] && stop_one "$(basename "$f" .pid)"; done
  rm -rf -- "$DIR"
}

print_env() {
  cat "$DIR/s3.env"
  echo "# WHARF_TEST_S3=$DIR/s3.json   (stop: $0 stop)"
}

start_cluster() {
  for b in ceph ceph-authtool monmaptool ceph-mon ceph-osd radosgw radosgw-admin curl; do
    command -v "$b" >/dev/null || die "missing '$b' (apt-get install --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl)"
  done
  port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
  port_busy "$RGW_PORT" && die "127.0.0.1:$RGW_PORT is in use by something else (set RGW_PORT)"
  port_busy "$MON_PORT" && die "127.0.0.1:$MON_PORT is in use by something else (set MON_PORT)"
  mkdir -p "$DIR"/{run,log,mon/ceph-a,osd/ceph-0,rgw/ceph-rgw.a,crash,tmp}
  local fsid osd_uuid access secret
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  access="$(tr -dc 'A-Z0-9' </dev/urandom | head -c 20 || true)"
  secret="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 40 || true)"
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_msgr1 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
keyring = $KEYRING
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/cluster.log
crash_dir = $DIR/crash
tmp_dir = $DIR/tmp
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 2
mon_data_avail_crit = 1
[mon]
mon_data = $DIR/mon/\$cluster-\$id
[osd]
osd_data = $DIR/osd/\$cluster-\$id
osd_objectstore = $OSD_BACKEND
bluestore_block_create = true
bluestore_block_size = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
memstore_device_bytes = $((OSD_SIZE_GB * 1024 * 1024 * 1024))
osd_memory_target = 1073741824
[client.rgw.a]
rgw_data = $DIR/rgw/ceph-rgw.a
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_thread_pool_size = 64
rgw_gc_obj_min_wait = 60
rgw_gc_processor_period = 60
CONF
  q() { "$@" >/dev/null; }
  q ceph-authtool --create-keyring "$KEYRING" --gen-key -n mon. --cap mon 'allow *'
  q ceph-authtool "$KEYRING" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *'
  q ceph-authtool "$KEYRING" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *'
  q ceph-authtool "$KEYRING" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw'
  chmod 600 "$KEYRING"
  local CEPH=(timeout 30 ceph -c "$CONF" --connect-timeout 15)
  daemon() {
    local name=$1; shift
    # 9>&-: the daemons must not inherit (and hold forever) the lock of this script
    setsid "$@" -c "$CONF" -f </dev/null >"$DIR/log/$name.out" 2>&1 9>&- &
    echo "$!" >"$DIR/run/$name.pid"
    log "started $name (pid $!)"
  }
  wait_for() {
    local what=$1; shift
    local start=$SECONDS n
    until "$@" >/dev/null 2>&1; do
      for n in "$DIR"/run/*.pid; do ours "$(cat "$n")" || die "$(basename "$n" .pid) exited; see $DIR/log/"; done
      (( SECONDS - start >= READY_TIMEOUT )) && die "timed out after ${READY_TIMEOUT}s waiting for $what"
      sleep 0.5
    done
    log "$what: ready"
  }
  q monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap"
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$KEYRING" >"$DIR/log/mon-mkfs.out" 2>&1 \
    || { cat "$DIR/log/mon-mkfs.out" >&2; die "ceph-mon --mkfs failed"; }
  daemon mon.a ceph-mon -i a
  wait_for "monitor quorum" "${CEPH[@]}" mon stat
  local id
  id="$("${CEPH[@]}" osd new "$osd_uuid")" || die "'ceph osd new' failed"
  [ "$id" = 0 ] || die "expected osd id 0, got '$id'"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/log/osd-mkfs.out" 2>&1 \
    || { cat "$DIR/log/osd-mkfs.out" >&2; die "ceph-osd --mkfs failed"; }
  daemon osd.0 ceph-osd -i 0
  osd_up() { "${CEPH[@]}" osd dump -f json | grep -q '"up":1'; }
  wait_for "osd.0 up" osd_up
  daemon rgw.a radosgw -n client.rgw.a
  wait_for "radosgw on $ENDPOINT" curl -fsS -o /dev/null --max-time 5 "$ENDPOINT/"
  timeout 60 radosgw-admin -c "$CONF" user create --uid=wharf --display-name=wharf \
    --access-key="$access" --secret-key="$secret" >"$DIR/log/user-create.out" 2>&1 \
    || { cat "$DIR/log/user-create.out" >&2; die "radosgw-admin user create failed"; }
  wait_for "S3 credentials accepted" curl -fsS -o /dev/null --max-time 5 \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$access:$secret" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$ENDPOINT/"
  cat >"$DIR/s3.env.tmp" <<ENV
export S3_ENDPOINT=$ENDPOINT
export S3_REGION=us-east-1
export S3_ACCESS_KEY=$access
export S3_SECRET_KEY=$secret
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export WHARF_TEST_S3=$DIR/s3.json
ENV
  printf '{"endpoint":"%s","region":"us-east-1","accessKeyId":"%s","secretAccessKey":"%s","dir":"%s"}\n' \
    "$ENDPOINT" "$access" "$secret" "$DIR" >"$DIR/s3.json.tmp"
  mv "$DIR/s3.json.tmp" "$DIR/s3.json"
  mv "$DIR/s3.env.tmp" "$DIR/s3.env"
}

cmd="${1:-start}"
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock -w 300 9 || die "could not take the lock $DIR.lock within 300 s"

case "$cmd" in
  start)
    if alive; then log "reusing the running cluster in $DIR"; print_env; exit 0; fi
    stop_all
    ok=0
    trap '[ "$ok" = 1 ] || { echo "ceph-rgw: start failed; logs:" >&2; tail -n 15 "$DIR"/log/*.out "$DIR"/log/*.log 2>/dev/null >&2; stop_all; }' EXIT
    start_cluster
    ok=1
    log "ready (started)"
    print_env
    ;;
  stop) stop_all; log "stopped" ;;
  status) if alive; then print_env; else echo "ceph-rgw: not running" >&2; exit 1; fi ;;
  *) die "usage: $0 start|stop|status" ;;
esac
