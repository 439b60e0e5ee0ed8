#!/usr/bin/env bash
# Network benchmark: TCP on loopback, with and without the sonde agent, side
# by side in one run. Prints ratios and counts, not pass/fail timings:
#   connections/s of a connection storm and GB/s of one bulk connection,
#   without and with the agent (and their ratios); sonde's final
#   tcp_connection records vs. expected (2 per connection); every counted
#   loss; agent CPU; exact bytes of the bulk connection; and an oracle:
#   20 connections with known byte counts, sonde vs. `ss -tin` vs. the
#   program, per connection.
# Goal (issue): 0 lost at >= 100k connections/s; the last line says what
# this machine reaches.
#
# Usage: sudo bash bench/net-storm.sh [--duration S] [--bulk-duration S]
#                                     [--workers W] [--goal-rate N] [--no-build]
# Builds into $CARGO_TARGET_DIR (default: target/). Needs root (the agent
# loads eBPF programs), tracefs, BTF and ss (iproute2).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
bulk_duration=5
workers=
goal_rate=100000
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --bulk-duration) bulk_duration=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --goal-rate) goal_rate=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "net-storm.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "net-storm.sh: SKIPPED: needs root (sonde agent loads eBPF programs); run with sudo"
    exit 0
fi
if ! command -v ss >/dev/null; then
    echo "net-storm.sh: SKIPPED: needs ss (iproute2) for the oracle"
    exit 0
fi

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$build" = 1 ]; then
    echo "== building release binaries (into $target_dir)"
    CARGO_TARGET_DIR=$target_dir cargo build --release --locked -q -p sonde -p net-storm
fi
sonde=$target_dir/release/sonde
storm=$target_dir/release/net-storm

tmp=$(mktemp -d /tmp/sonde-net-storm.XXXXXX)
me=net-storm.sh
# shellcheck source=bench/agent.sh
source bench/agent.sh
cleanup() {
    stop_agent
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


conns_args=(conns --duration "$duration")
[ -z "$workers" ] || conns_args+=(--workers "$workers")
bulk_args=(bulk --duration "$bulk_duration")

echo "== (a) without the agent: connection storm ${duration}s, then bulk ${bulk_duration}s"
"$storm" "${conns_args[@]}" --label "without agent" --json >"$tmp/conns-without.json"
"$storm" "${bulk_args[@]}" --label "without agent" --json >"$tmp/bulk-without.json"

echo "== (b) starting sonde agent"
start_agent
echo "   pid $agent_pid, API on 127.0.0.1:$port, store in $tmp/data"
probe=(--server "127.0.0.1:$port" --agent-pid "$agent_pid")

echo "== (c) with the agent: connection storm ${duration}s, bulk ${bulk_duration}s, oracle"
"$storm" "${conns_args[@]}" "${probe[@]}" --label "with agent" --json >"$tmp/conns-with.json"
"$storm" "${bulk_args[@]}" "${probe[@]}" --label "with agent" --json >"$tmp/bulk-with.json"
"$storm" oracle "${probe[@]}" --label "oracle" --json >"$tmp/oracle.json"

echo "== (d) stopping the agent (SIGTERM)"
stop_agent
if [ "$agent_status" -ne 0 ]; then
    echo "net-storm.sh: the agent exited with status $agent_status:" >&2
    tail -20 "$tmp/agent.log" >&2
fi
if grep -qE "ERROR|WARN" "$tmp/agent.log"; then
    echo "net-storm.sh: the agent logged errors or warnings:" >&2
    grep -E "ERROR|WARN" "$tmp/agent.log" | tail -10 >&2
fi

echo
"$storm" report --conns-without "$tmp/conns-without.json" --conns-with "$tmp/conns-with.json" \
    --bulk-without "$tmp/bulk-without.json" --bulk-with "$tmp/bulk-with.json" \
    --oracle "$tmp/oracle.json" --goal-rate "$goal_rate"
