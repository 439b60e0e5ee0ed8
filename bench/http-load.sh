#!/usr/bin/env bash
# HTTP benchmark: nginx (Debian's) saturated by wrk on loopback, without and
# with the sonde agent, side by side in one run. Prints ratios and counts, not
# pass/fail timings: requests/s without and with sonde (and the ratio); the
# request records sonde produced vs. the requests wrk completed (each seen
# from both ends and joined into one); every counted loss; agent CPU per 10k
# requests.
# Goal (issue): ratio >= 0.99 with 0 loss.
#
# Usage: sudo bash bench/http-load.sh [--duration S] [--connections C] [--threads T] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
connections=32
threads=2
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "http-load.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
me=http-load.sh
if [ "$(id -u)" -ne 0 ]; then
    echo "$me: SKIPPED: needs root (sonde agent loads eBPF programs); run with sudo"
    exit 0
fi
for tool in nginx wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "$me: SKIPPED: $tool not installed (scripts/setup.sh installs it)"; exit 0; }
done
target_dir=${CARGO_TARGET_DIR:-target}
if [ "$build" = 1 ]; then
    CARGO_TARGET_DIR=$target_dir cargo build --release --locked -q -p sonde
fi
sonde=$target_dir/release/sonde
tmp=$(mktemp -d /tmp/sonde-http-load.XXXXXX)
# shellcheck source=bench/agent.sh
source bench/agent.sh
nginx_port=$(free_port)
cleanup() {
    stop_agent
    nginx -p "$tmp" -c "$tmp/nginx.conf" -s stop 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/www"
echo "hello from nginx" >"$tmp/www/index.html"
cat >"$tmp/nginx.conf" <<CONF
daemon on; worker_processes 1; pid $tmp/nginx.pid; error_log $tmp/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fcgi; uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;
  server { listen 127.0.0.1:$nginx_port; root $tmp/www; } }
CONF
nginx -p "$tmp" -c "$tmp/nginx.conf"
url="http://127.0.0.1:$nginx_port/index.html"

# Prints requests/s and completed requests of one wrk run.
load() {
    wrk -t "$threads" -c "$connections" -d "${duration}s" "$url" >"$tmp/wrk.out"
    local rps total
    rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out")
    total=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
    echo "$rps $total"
}
status() { curl -fsS "http://127.0.0.1:$port/api/v1/status"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }

read -r base_rps base_total < <(load)
start_agent
sleep 1
before=$(status)
ticks0=$(cpu_ticks)
read -r with_rps with_total < <(load)
sleep 2 # the last views wait for their twin, then the store
ticks1=$(cpu_ticks)
after=$(status)
hz=$(getconf CLK_TCK)
requests=$(( $(echo "$after" | field 'd["pipeline"]["requests"]["requests"]') - $(echo "$before" | field 'd["pipeline"]["requests"]["requests"]') ))
joined=$(( $(echo "$after" | field 'd["pipeline"]["requests"]["requests_joined"]') - $(echo "$before" | field 'd["pipeline"]["requests"]["requests_joined"]') ))
lost=$(echo "$after" | field 'd["lost_total"]')
bytes_lost=$(echo "$after" | field 'd["pipeline"]["requests"]["bytes_lost"]')
parse_errors=$(echo "$after" | field 'd["pipeline"]["requests"]["parse_errors"]')
cpu_s=$(python3 -c "print(($ticks1 - $ticks0) / $hz)")

printf '%-44s %12s\n' "requests/s without sonde" "$base_rps"
printf '%-44s %12s\n' "requests/s with sonde" "$with_rps"
printf '%-44s %12s\n' "ratio (goal >= 0.99)" "$(python3 -c "print(f'{$with_rps / $base_rps:.3f}')")"
printf '%-44s %12s\n' "requests wrk completed (with sonde)" "$with_total"
printf '%-44s %12s\n' "request records (joined from both ends)" "$requests ($joined joined)"
printf '%-44s %12s\n' "records/s" "$(python3 -c "print(f'{$requests / $duration:.0f}')")"
printf '%-44s %12s\n' "lost (all counters), stream bytes lost" "$lost, $bytes_lost"
printf '%-44s %12s\n' "parse errors" "$parse_errors"
printf '%-44s %12s\n' "agent CPU s per 10k requests" "$(python3 -c "print(f'{$cpu_s * 10000 / max($requests, 1):.3f}')")"
