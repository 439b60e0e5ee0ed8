#!/usr/bin/env bash
# Profiler cost benchmark: what continuous profiling costs, side by side in one
# run, for each configuration of --configs (default: no agent, the agent with
# the profiler off, 19 Hz, 99 Hz, 99 Hz with frame pointers only). Every CPU is
# kept busy by one copy of bench/profile-workload per CPU, so every sample hits
# a busy CPU (the worst case: idle CPUs are skipped in the kernel).
#
# Per configuration it prints: the profiler's CPU (threads sonde-profiler and
# sonde-symbolize, from /proc/PID/task/TID/schedstat, plus the `sample` BPF
# program's run time from kernel.bpf_stats_enabled) as a share of all CPUs
# and per sample; samples received vs expected (hz x CPUs x seconds) and every
# counted loss; the agent's VmRSS/VmHWM at the end; the workload's throughput
# relative to the profiler off and to no agent (noisy on a shared machine: the
# CPU other processes took is printed too).
# Goal (issue): <= 0.3% of all CPUs at 99 Hz.
#
# The workload runs a warm-up (one profile window and 2 s) before the measured
# --duration, and 2 s after it (every reading is taken on busy CPUs): the
# first window's end loads the symbolizer's caches (kallsyms, DWARF of libc,
# ...) once per agent; that one-time cost is printed apart.
#
# Usage: sudo bash bench/profile-cost.sh [--duration S] [--window S] [--configs "none 0 19 99 99fp"] [--no-build]
#   a config is `none` (no agent) or a --profile-hz value, `fp` suffixed for
#   --profile-frame-pointers-only. Takes about configs x (duration + 2 x window + 8) s.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=30
window=10
configs="none 0 19 99 99fp"
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --window) window=$2; shift 2 ;;
        --configs) configs=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "profile-cost.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
me=profile-cost.sh
if [ "$(id -u)" -ne 0 ]; then
    echo "$me: SKIPPED: needs root (the agent loads eBPF programs; bpf_stats is a sysctl); run with sudo"
    exit 0
fi
for tool in cc curl bpftool python3 sysctl ss; do
    command -v "$tool" >/dev/null || { echo "$me: SKIPPED: $tool not installed (scripts/setup.sh installs it)"; exit 0; }
done
for config in $configs; do
    [[ "$config" =~ ^(none|[0-9]+(fp)?)$ ]] || { echo "$me: bad config '$config' (none, N or Nfp)" >&2; exit 2; }
done
[ -r /proc/self/schedstat ] || { echo "$me: SKIPPED: no /proc/PID/schedstat (kernel without CONFIG_SCHED_INFO)"; exit 0; }
target_dir=${CARGO_TARGET_DIR:-target}
if [ "$build" = 1 ]; then
    CARGO_TARGET_DIR=$target_dir cargo build --release --locked -q -p sonde
fi
sonde=$target_dir/release/sonde
[ -x "$sonde" ] || { echo "$me: no $sonde (run without --no-build)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/sonde-profile-cost.XXXXXX)
# shellcheck source=bench/agent.sh
source bench/agent.sh
workers=()
old_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
    local pid
    for pid in "${workers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    stop_agent
    sysctl -q -w kernel.bpf_stats_enabled="$old_bpf_stats" >/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cc -O2 -g -fno-omit-frame-pointer -o "$tmp/workload" bench/profile-workload/workload.c
cpus=$(getconf _NPROCESSORS_ONLN)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null

# Nanoseconds on CPU of the agent's threads whose name matches $1 (a regex).
threads_ns() {
    local task total=0 ns
    for task in /proc/"$agent_pid"/task/*; do
        grep -Eqx "$1" "$task/comm" 2>/dev/null || continue
        ns=$(awk '{print $1}' "$task/schedstat" 2>/dev/null) || continue
        total=$((total + ns))
    done
    echo "$total"
}
# `run_time_ns run_cnt` of the agent's own BPF programs named `sample`.
bpf_sample_stats() {
    local ids
    ids=$(grep -h '^prog_id:' /proc/"$agent_pid"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u | tr '\n' ' ')
    bpftool prog show -j | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1].split()}
progs = [p for p in json.load(sys.stdin) if p.get("name") == "sample" and p["id"] in ids]
print(sum(p.get("run_time_ns", 0) for p in progs), sum(p.get("run_cnt", 0) for p in progs), len(progs))
' "$ids"
}
metrics() { curl -fsS "http://127.0.0.1:$port/metrics"; }
# The value of one series (exact name with labels) in a /metrics text on stdin; 0 if absent.
series() { awk -v k="$1" '$1 == k {v = $2} END {print (v == "" ? 0 : v)}'; }
now_ns() { date +%s%N; }
# Nanoseconds on CPU of the workers (all running) so far.
workers_ns() {
    local pid total=0 ns
    for pid in "${workers[@]}"; do
        ns=$(awk '{print $1}' "/proc/$pid/schedstat" 2>/dev/null) || continue
        total=$((total + ns))
    done
    echo "$total"
}
# Ticks all CPUs were busy (steal included: time the hypervisor gave others).
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# Runs one configuration; writes `key value` lines to $tmp/result.$1.
measure() {
    local index=$1 config=$2 out="$tmp/result.$1" hz=0 fp=0
    local t0 t1 prof_warm=0 prof0=0 prof1=0 all0=0 all1=0 bpf0="0 0 0" bpf1="0 0 0" m0 m1 m pid busy0 busy1
    local work0 work1 warmup=$((window + 2))
    local bpf_ns0 bpf_runs0 bpf_ns1 bpf_runs1 bpf_progs
    : >"$out"
    if [ "$config" != none ]; then
        hz=${config%fp}
        [ "$config" = "$hz" ] || fp=1
        local flags=(--profile-hz "$hz" --profile-window "${window}s")
        [ "$fp" = 0 ] || flags+=(--profile-frame-pointers-only)
        start_agent "${flags[@]}"
        sleep 1
        prof_warm=$(threads_ns 'sonde-profiler|sonde-symbolize')
    fi
    workers=()
    for _ in $(seq 1 "$cpus"); do
        "$tmp/workload" "$((warmup + duration + 2))" >"$tmp/workload.$index.${#workers[@]}" &
        workers+=($!)
    done
    sleep "$warmup"
    # The same readings in the same order at both ends, so that each covers
    # about t1 - t0 (the samples counter lags the ring by <= 100 ms at both).
    t0=$(now_ns)
    busy0=$(busy_ticks)
    work0=$(workers_ns)
    if [ "$config" != none ]; then
        prof0=$(threads_ns 'sonde-profiler|sonde-symbolize')
        all0=$(threads_ns '.*')
        bpf0=$(bpf_sample_stats)
        metrics >"$tmp/metrics0.$index"
    fi
    sleep "$(awk -v t0="$t0" -v now="$(now_ns)" -v d="$duration" 'BEGIN {print d - (now - t0) / 1e9}')"
    t1=$(now_ns)
    busy1=$(busy_ticks)
    work1=$(workers_ns)
    if [ "$config" != none ]; then
        prof1=$(threads_ns 'sonde-profiler|sonde-symbolize')
        all1=$(threads_ns '.*')
        bpf1=$(bpf_sample_stats)
        metrics >"$tmp/metrics1.$index"
    fi
    for pid in "${workers[@]}"; do wait "$pid"; done
    workers=()
    if [ "$config" != none ]; then
        m0="$tmp/metrics0.$index" m1="$tmp/metrics1.$index"
        echo "samples $(( $(series 'sonde_ringbuf_records_total{type="sample"}' <"$m1") - $(series 'sonde_ringbuf_records_total{type="sample"}' <"$m0") ))" >>"$out"
        echo "observed $(( $(series sonde_profiler_processes_observed_total <"$m1") - $(series sonde_profiler_processes_observed_total <"$m0") ))" >>"$out"
        # Kernel counters (losses included) are read at each window's end.
        sleep "$((window + 1))"
        metrics >"$tmp/metrics.$index"
        m="$tmp/metrics.$index"
        {
            echo "lost_ring $(series 'sonde_kernel_lost_records_total{type="sample"}' <"$m")"
            echo "profiles_dropped $(series sonde_profiler_profiles_dropped_total <"$m")"
            echo "stacks_over_budget $(series sonde_profiler_stacks_over_budget_total <"$m")"
            echo "idle $(series 'sonde_profiler_kernel_total{counter="idle"}' <"$m")"
            echo "stack_failed $(( $(series 'sonde_profiler_kernel_total{counter="kernel_stack_failed"}' <"$m") + $(series 'sonde_profiler_kernel_total{counter="user_stack_failed"}' <"$m") ))"
            echo "unwound_dwarf $(series sonde_profiler_user_stacks_unwound_dwarf_total <"$m")"
            echo "truncated $(series sonde_profiler_user_stacks_truncated_total <"$m")"
            echo "rss_kib $(awk '/^VmRSS:/ {print $2}' /proc/"$agent_pid"/status)"
            echo "hwm_kib $(awk '/^VmHWM:/ {print $2}' /proc/"$agent_pid"/status)"
        } >>"$out"
        stop_agent
    fi
    read -r bpf_ns0 bpf_runs0 _ <<<"$bpf0"
    read -r bpf_ns1 bpf_runs1 bpf_progs <<<"$bpf1"
    {
        echo "config $config"
        echo "hz $hz"
        echo "fp $fp"
        echo "agent $([ "$config" = none ] && echo 0 || echo 1)"
        echo "wall_ns $((t1 - t0))"
        echo "prof_ns $((prof1 - prof0))"
        echo "warmup_ns $((prof0 - prof_warm))"
        echo "warmup_s $warmup"
        echo "workers_ns $((work1 - work0))"
        echo "agent_ns $((all1 - all0))"
        echo "bpf_ns $((bpf_ns1 - bpf_ns0))"
        echo "bpf_runs $((bpf_runs1 - bpf_runs0))"
        echo "bpf_progs $bpf_progs"
        echo "busy_s $(awk -v t="$(getconf CLK_TCK)" "BEGIN {print ($busy1 - $busy0) / t}")"
        cat "$tmp"/workload."$index".* | awk '{r += $1; w += $1 / $2; c += $3}
            END {printf "throughput %.1f\nthroughput_cpu %.1f\n", w, r / c}'
    } >>"$out"
}

echo "$me: $cpus CPUs, $duration s per configuration, profile window $window s, configurations: $configs"
index=0
for config in $configs; do
    echo "$me: measuring '$config'..." >&2
    measure "$index" "$config"
    index=$((index + 1))
done

python3 - "$tmp" "$index" "$cpus" <<'PY'
import sys

tmp, n, cpus = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = []
for i in range(n):
    with open(f"{tmp}/result.{i}") as f:
        d = dict(line.split(None, 1) for line in f if line.strip())
    runs.append({k: (v.strip() if k == "config" else float(v)) for k, v in d.items()})

def title(r):
    if r["config"] == "none":
        return "no agent"
    if r["hz"] == 0:
        return "off (0 Hz)"
    return f'{int(r["hz"])} Hz' + (" fp" if r["fp"] else " dwarf")

off = next((r for r in runs if r["agent"] and r["hz"] == 0), None)
bare = next((r for r in runs if not r["agent"]), None)
dash = "-"

def cell(r, key):
    agent, hz = r["agent"], r["hz"]
    wall = r["wall_ns"] / 1e9
    cost_ns = r["prof_ns"] + r["bpf_ns"]
    expected = hz * cpus * wall
    if key == "throughput":
        return f'{r["throughput"]:.0f}'
    if key == "vs_off":
        return f'{r["throughput"] / off["throughput"]:.3f}' if off else dash
    if key == "vs_bare":
        return f'{r["throughput"] / bare["throughput"]:.3f}' if bare else dash
    if key == "throughput_cpu":
        return f'{r["throughput_cpu"]:.0f}'
    if key == "vs_off_cpu":
        return f'{r["throughput_cpu"] / off["throughput_cpu"]:.3f}' if off else dash
    if key == "wall":
        return f"{wall:.1f}"
    if key == "others":
        others = r["busy_s"] - r["workers_ns"] / 1e9 - r["agent_ns"] / 1e9
        return f"{100 * max(others, 0) / (wall * cpus):.1f}"
    if not agent:
        return dash
    if key == "agent_cpu":
        return f'{100 * r["agent_ns"] / (wall * 1e9 * cpus):.3f}'
    if key == "rss":
        return f'{r["rss_kib"] / 1024:.1f} / {r["hwm_kib"] / 1024:.1f}'
    if hz == 0:
        if key == "prof_ms":
            return f'{r["prof_ns"] / 1e6:.1f}'
        return dash
    if key == "expected":
        return f"{expected:.0f}"
    if key == "samples":
        return f'{r["samples"]:.0f}'
    if key == "ratio":
        return f'{r["samples"] / expected:.3f}'
    if key == "lost":
        return f'{r["lost_ring"]:.0f} / {r["profiles_dropped"]:.0f} / {r["stacks_over_budget"]:.0f}'
    if key == "kernel":
        return f'{r["idle"]:.0f} / {r["stack_failed"]:.0f}'
    if key == "unwind":
        return f'{r["unwound_dwarf"]:.0f} / {r["truncated"]:.0f}'
    if key == "prof_ms":
        return f'{r["prof_ns"] / 1e6:.1f}'
    if key == "warmup":
        return f'{r["warmup_ns"] / 1e6:.1f}'
    if key == "observed":
        return f'{r["observed"]:.0f}'
    if key == "bpf":
        if not r["bpf_progs"]:
            return "not found"
        runs_ = r["bpf_runs"]
        per = r["bpf_ns"] / runs_ if runs_ else 0
        return f'{r["bpf_ns"] / 1e6:.1f} ms, {per:.0f} ns'
    if key == "cost":
        return f'{100 * cost_ns / (wall * 1e9 * cpus):.3f}'
    if key == "per_sample":
        return f'{cost_ns / 1e3 / r["samples"]:.1f}' if r["samples"] else dash
    raise KeyError(key)

rows = [
    ("workload rounds/s (all CPUs)", "throughput"),
    ("  ratio to profiler off", "vs_off"),
    ("  ratio to no agent", "vs_bare"),
    ("workload rounds per workload CPU s", "throughput_cpu"),
    ("  ratio to profiler off", "vs_off_cpu"),
    ("CPU taken by others (procs, steal) %", "others"),
    ("measured wall s", "wall"),
    ("samples expected (hz x CPUs x s)", "expected"),
    ("samples received (ring)", "samples"),
    ("  received / expected", "ratio"),
    ("lost: kernel ring / profiles / stacks", "lost"),
    ("kernel: idle skipped / stack failures", "kernel"),
    ("user stacks: .eh_frame / truncated", "unwind"),
    ("processes met (first sample)", "observed"),
    ("profiler threads CPU ms", "prof_ms"),
    ("  and in the warm-up before (ms)", "warmup"),
    ("BPF `sample`: run time, per run", "bpf"),
    ("profiler cost % of all CPUs", "cost"),
    ("profiler cost per sample us", "per_sample"),
    ("agent CPU % of all CPUs (all threads)", "agent_cpu"),
    ("agent VmRSS / VmHWM MiB (end)", "rss"),
]
width = 40
cols = [title(r) for r in runs]
colw = max(14, *(len(c) for c in cols), *(len(cell(r, k)) for r in runs for _, k in rows)) + 2
print()
print(f'{"":{width}}' + "".join(f"{c:>{colw}}" for c in cols))
for label, key in rows:
    print(f"{label:{width}}" + "".join(f"{cell(r, key):>{colw}}" for r in runs))
print()
print("profiler cost = CPU of threads sonde-profiler + sonde-symbolize + the BPF program's run time,")
print(f"over the measured wall time x {cpus} CPUs; goal (issue): <= 0.3% at 99 Hz. Lost counters and")
print("memory cover the agent's whole run; throughput the workload's whole run (warm-up included); the")
print("rest the measured interval only, after a warm-up of one window (the first window's end loads the")
print("symbolizer's caches). Rounds per workload CPU s are blind to CPU time others took from it; the")
print("others include this script's own readings (curl, bpftool, python3) at both ends.")
for r in runs:
    if r["agent"] and r["hz"] > 0:
        wall = r["wall_ns"] / 1e9
        cost = 100 * (r["prof_ns"] + r["bpf_ns"]) / (wall * 1e9 * cpus)
        if r["hz"] == 99:
            verdict = "meets" if cost <= 0.3 else "MISSES"
            print(f"{title(r)}: {cost:.3f}% {verdict} the 0.3% goal")
PY
