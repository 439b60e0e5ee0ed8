#!/usr/bin/env bash
# Exec-storm benchmark: N short processes per second, with and without the
# sonde agent, side by side in one run. Prints ratios, not pass/fail timings:
#   exec/s without and with the agent (and their ratio), execs generated vs.
#   recorded by sonde, every counted loss, agent CPU, stored bytes per exec,
#   and the kernel-side run time of sonde's eBPF programs (bpftool; with
#   kernel.bpf_stats_enabled=1 during each storm with the agent, which adds
#   a little overhead to those storms; the old value is restored after).
# Goal (issue): 0 lost at >= 20k exec/s; the last line says what it reaches.
#
# Usage: sudo bash bench/exec-storm.sh [--duration S] [--workers W]
#                                      [--goal-rate N] [--no-rate-check] [--no-build]
# Builds into $CARGO_TARGET_DIR (default: target/). Needs root (the agent
# loads eBPF programs), tracefs and BTF (see `sonde doctor`, scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
workers=$(nproc)
goal_rate=20000
rate_check=1
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --workers) workers=$2; shift 2 ;;
        --goal-rate) goal_rate=$2; shift 2 ;;
        --no-rate-check) rate_check=0; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "exec-storm.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "exec-storm.sh: SKIPPED: needs root (sonde agent loads eBPF programs); run with sudo"
    exit 0
fi

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$build" = 1 ]; then
    echo "== building release binaries (into $target_dir)"
    CARGO_TARGET_DIR=$target_dir cargo build --release --locked -q -p sonde -p exec-storm
fi
sonde=$target_dir/release/sonde
storm=$target_dir/release/exec-storm

tmp=$(mktemp -d /tmp/sonde-exec-storm.XXXXXX)
me=exec-storm.sh
# shellcheck source=bench/agent.sh
source bench/agent.sh
# kernel.bpf_stats_enabled before this script set it; empty while not set.
bpf_stats_old=
bpf_stats_on() {
    bpf_stats_old=$(sysctl -n kernel.bpf_stats_enabled)
    sysctl -qw kernel.bpf_stats_enabled=1
}
bpf_stats_restore() {
    [ -n "$bpf_stats_old" ] || return 0
    sysctl -qw kernel.bpf_stats_enabled="$bpf_stats_old"
    bpf_stats_old=
}
cleanup() {
    stop_agent
    bpf_stats_restore
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


storm_args=(--duration "$duration" --workers "$workers")
# exec-storm builds its child executable under $TMPDIR: inside $tmp, so the
# trap removes it even if a storm is interrupted.
export TMPDIR=$tmp

echo "== (a) storm without the agent: ${duration}s, $workers workers, max rate"
"$storm" "${storm_args[@]}" --label "without agent" --json >"$tmp/without.json"

echo "== (b) starting sonde agent"
start_agent
echo "   pid $agent_pid, API on 127.0.0.1:$port, store in $tmp/data"
probe=(--server "127.0.0.1:$port" --agent-pid "$agent_pid")
bpf_stats=0
if command -v bpftool >/dev/null && [ -e /proc/sys/kernel/bpf_stats_enabled ]; then
    bpf_stats=1
    probe+=(--bpf-stats)
else
    echo "   no bpftool or kernel.bpf_stats_enabled: kernel-side eBPF cost not measured"
fi
# A storm with the agent, with eBPF run-time statistics on during it.
storm_with_agent() {
    [ "$bpf_stats" = 0 ] || bpf_stats_on
    "$storm" "${storm_args[@]}" "${probe[@]}" "$@"
    bpf_stats_restore
}

echo "== (c) storm with the agent: max rate"
storm_with_agent --label "with agent" --json >"$tmp/with.json"
with=(--with "$tmp/with.json")

if [ "$rate_check" = 1 ]; then
    echo "== (d) storm with the agent: target ${goal_rate}/s"
    storm_with_agent --rate "$goal_rate" --label "agent @${goal_rate}/s" --json >"$tmp/rate.json"
    with+=(--with "$tmp/rate.json")
fi

echo "== (e) stopping the agent (SIGTERM)"
stop_agent
if [ "$agent_status" -ne 0 ]; then
    echo "exec-storm.sh: the agent exited with status $agent_status:" >&2
    tail -20 "$tmp/agent.log" >&2
fi
if grep -qE "ERROR|WARN" "$tmp/agent.log"; then
    echo "exec-storm.sh: the agent logged errors or warnings:" >&2
    grep -E "ERROR|WARN" "$tmp/agent.log" | tail -10 >&2
fi

echo
"$storm" compare --without "$tmp/without.json" "${with[@]}" --goal-rate "$goal_rate"
