#!/usr/bin/env bash
# File events cost benchmark: the slowdown of a kernel-heavy workload (many
# opens) with file events on, side by side in one run with no agent and with
# the agent running with file events off (--no-file-events: the file
# syscalls are not hooked at all). Anchor: Tetragon +10.6% wall time with
# openat hooked.
#
# The workload reads every file under --tree (default /usr: over 100,000
# read-only opens; the default set watches /usr/bin, /usr/lib, ... for
# modifications only, so the kernel filters every one of them: this is the
# cost every open pays) with
# `find -type f -print0 | xargs -0 cat > /dev/null`, after one warm-up run
# that fills the page cache. Configurations are interleaved (none, off, on,
# none, off, on, ...) --runs times, so drift hits each alike; the median wall
# time of each is printed with its ratio to no agent, and for `on` the file
# events the agent produced and every counted loss. Wall time on a shared
# machine is noisy (the agent also reports everyone else's opens), so the
# kernel side is measured exactly too: with kernel.bpf_stats_enabled, the
# nanoseconds per call of the agent's enter_openat and exit_file programs.
#
# Usage: sudo bash bench/file-events-cost.sh [--runs N] [--tree DIR] [--no-build] [--debug] [--agent-args "FLAGS"]
#   --debug uses the debug build (user space slower; the kernel side, which
#   this measures, is the same). --agent-args are added to both agent runs.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
tree=/usr
build=1
profile=release
agent_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --tree) tree=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        --debug) profile=debug; shift ;;
        --agent-args) read -r -a agent_args <<<"$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "file-events-cost.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
me=file-events-cost.sh
if [ "$(id -u)" -ne 0 ]; then
    echo "$me: SKIPPED: needs root (the agent loads eBPF programs); run with sudo"
    exit 0
fi
for tool in curl find xargs ss python3 bpftool sysctl; do
    command -v "$tool" >/dev/null || { echo "$me: SKIPPED: $tool not installed (scripts/setup.sh installs it)"; exit 0; }
done
[ -d "$tree" ] || { echo "$me: no directory $tree" >&2; exit 2; }
target_dir=${CARGO_TARGET_DIR:-target}
if [ "$build" = 1 ]; then
    if [ "$profile" = release ]; then
        CARGO_TARGET_DIR=$target_dir cargo build --release --locked -q -p sonde
    else
        CARGO_TARGET_DIR=$target_dir cargo build --locked -q -p sonde
    fi
fi
sonde=$target_dir/$profile/sonde
[ -x "$sonde" ] || { echo "$me: no $sonde (run without --no-build)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sonde-file-cost.XXXXXX")
# shellcheck source=bench/agent.sh
source bench/agent.sh
old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
    stop_agent
    sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Wall seconds of one pass over the tree.
workload() {
    local start end
    start=$(date +%s.%N)
    find "$tree" -xdev -type f -print0 2>/dev/null | xargs -0 -n 512 cat >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}

# One sample of a Prometheus metric (name with labels) from the agent.
metric() {
    curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}

# "id run_cnt run_time_ns" of every loaded program named $1.
prog_stats() {
    bpftool prog show -j | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name") == sys.argv[1]:
        print(p["id"], p.get("run_cnt", 0), p.get("run_time_ns", 0))' "$1"
}

# Appends "calls ns" of program $1 in the agent (ids not in reading $2)
# between readings $3 and $4.
add_kernel_cost() {
    python3 -c '
import sys
rows = lambda t: {l.split()[0]: list(map(int, l.split()[1:])) for l in t.splitlines() if l.strip()}
old, start, end = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
for id, (cnt, ns) in end.items():
    if id not in old and id in start:
        print(cnt - start[id][0], ns - start[id][1])' "$2" "$3" "$4" >>"$tmp/kernel-$1"
}

sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null
opens=$(find "$tree" -xdev -type f 2>/dev/null | wc -l)
echo "$me: $opens files under $tree, $runs runs per configuration, $profile build"
workload >/dev/null # warm the page cache
declare -A times
events=0
lost=0
for run in $(seq 1 "$runs"); do
    for config in none off on; do
        before_open=$(prog_stats enter_openat)
        before_exit=$(prog_stats exit_file)
        case "$config" in
            none) ;;
            off) start_agent --profile-hz 0 --no-file-events "${agent_args[@]}" ;;
            on) start_agent --profile-hz 0 "${agent_args[@]}" ;;
        esac
        start_open=$(prog_stats enter_openat)
        start_exit=$(prog_stats exit_file)
        t=$(workload)
        if [ "$config" = on ]; then
            add_kernel_cost enter_openat "$before_open" "$start_open" "$(prog_stats enter_openat)"
            add_kernel_cost exit_file "$before_exit" "$start_exit" "$(prog_stats exit_file)"
        fi
        times[$config]="${times[$config]:-} $t"
        if [ "$config" = on ]; then
            sleep 1 # let the agent drain and count
            events=$((events + $(metric 'sonde_security_events_total{type="file"}')))
            lost=$((lost + $(curl -fsS "http://127.0.0.1:$port/api/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["lost_total"])')))
        fi
        stop_agent
        echo "  run $run $config: ${t}s"
    done
done

python3 - "${times[none]}" "${times[off]}" "${times[on]}" "$events" "$lost" "$runs" <<'EOF'
import statistics, sys
none, off, on = (sorted(map(float, a.split())) for a in sys.argv[1:4])
events, lost, runs = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
base = statistics.median(none)
print(f"{'config':<28}{'median s':>10}{'vs none':>10}")
for name, t in [("no agent", none), ("agent, file events off", off), ("agent, file events on", on)]:
    m = statistics.median(t)
    print(f"{name:<28}{m:>10.3f}{(m / base - 1) * 100:>+9.1f}%")
on_vs_off = statistics.median(on) / statistics.median(off) - 1
print(f"file events on vs off: {on_vs_off * 100:+.1f}% (Tetragon, openat hooked: +10.6%)")
print(f"file events per run: {events // runs}; lost (all causes): {lost}")
EOF
for name in enter_openat exit_file; do
    [ -s "$tmp/kernel-$name" ] || continue
    awk -v n="$name" '{ c += $1; t += $2 } END { if (c) printf "kernel: %s %.0f ns per call over %d calls\n", n, t / c, c }' "$tmp/kernel-$name"
done
