#!/usr/bin/env bash
# Profiler reference check: sonde's top functions by self time against perf's,
# on the same process over the same window, side by side. For each workload,
# `perf record -e cpu-clock -F HZ -g -p PID` and two sonde sessions on the same
# pid run concurrently for the same duration:
#   - the API's `GET /api/v1/profile?pid=PID&duration=…&hz=HZ&format=top`
#     (self time; an inlined function at the leaf counts for itself), and
#   - `sonde profile --pid PID -o json`, ranked here with perf's rule (an
#     inlined leaf counts for the function it was inlined into, as
#     `perf report --sort symbol` does).
# perf's side is `perf report --no-children --sort symbol`. Prints both top-5
# lists with their percentages and whether the sets and the order agree.
#
# Workloads: `c` (bench/profile-workload: six functions of about 40, 25, 15,
# 10, 6 and 4 percent, frame pointers and DWARF) and `python` (Debian's
# /usr/bin/python3: stripped, ~1,700 dynamic symbols; libm inlines via libc6-dbg).
#
# Usage: sudo bash bench/profile-vs-perf.sh [--duration S] [--hz N] [--workloads "c python"] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
hz=99
workloads="c python"
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --hz) hz=$2; shift 2 ;;
        --workloads) workloads=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "profile-vs-perf.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
me=profile-vs-perf.sh
if [ "$(id -u)" -ne 0 ]; then
    echo "$me: SKIPPED: needs root (the agent loads eBPF programs; perf -p on any process); run with sudo"
    exit 0
fi
for tool in cc curl perf python3 ss; do
    command -v "$tool" >/dev/null || { echo "$me: SKIPPED: $tool not installed (scripts/setup.sh installs it)"; exit 0; }
done
# Debian's perf is a wrapper that fails when no perf matches the running kernel.
perf version >/dev/null 2>&1 || { echo "$me: SKIPPED: perf does not run here ($(perf version 2>&1 | head -1))"; exit 0; }
for workload in $workloads; do
    case "$workload" in
        c) ;;
        python) [ -x /usr/bin/python3 ] || { echo "$me: SKIPPED: no /usr/bin/python3 (Debian's python3) for the python workload"; exit 0; } ;;
        *) echo "$me: unknown workload '$workload' (c, python)" >&2; exit 2 ;;
    esac
done
target_dir=${CARGO_TARGET_DIR:-target}
if [ "$build" = 1 ]; then
    CARGO_TARGET_DIR=$target_dir cargo build --release --locked -q -p sonde
fi
sonde=$target_dir/release/sonde
[ -x "$sonde" ] || { echo "$me: no $sonde (run without --no-build)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/sonde-profile-vs-perf.XXXXXX)
# shellcheck source=bench/agent.sh
source bench/agent.sh
children=()
cleanup() {
    local pid
    for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    stop_agent
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cc -O2 -g -fno-omit-frame-pointer -o "$tmp/workload" bench/profile-workload/workload.c
cat >"$tmp/workload.py" <<'PY'
import sys, time

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def floats(n):
    x = 0.0
    for i in range(n):
        x += (i * 0.5) ** 0.5
    return x

def strings(n):
    return len("".join(str(i) for i in range(n)).upper())

def dicts(n):
    d = {}
    for i in range(n):
        d[i % 1000] = d.get(i % 1000, 0) + i
    return len(d)

end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    fib(18); floats(20000); strings(20000); dicts(20000)
PY

# The agent with its defaults (continuous profiling at 19 Hz too): each
# session loads its own program, filtered to the pid in the kernel.
start_agent

# Profiles one workload with perf and sonde at once; leaves the answers in $tmp/$1.*.
compare() {
    local name=$1 pid perf_pid top_pid json_pid
    case "$name" in
        c) "$tmp/workload" "$((duration + 4))" >/dev/null & ;;
        python) /usr/bin/python3 "$tmp/workload.py" "$((duration + 4))" & ;;
    esac
    pid=$!
    children+=("$pid")
    sleep 1 # past start-up: both see the steady state
    perf record -q -e cpu-clock -F "$hz" -g -p "$pid" -o "$tmp/$name.perf" -- sleep "$duration" 2>"$tmp/$name.perf.log" &
    perf_pid=$!
    curl -fsS -o "$tmp/$name.top.json" \
        "http://127.0.0.1:$port/api/v1/profile?pid=$pid&duration=${duration}s&hz=$hz&format=top" &
    top_pid=$!
    "$sonde" profile --server "127.0.0.1:$port" --pid "$pid" --duration "${duration}s" --hz "$hz" \
        -o json -f "$tmp/$name.profiles.json" &
    json_pid=$!
    children+=("$perf_pid" "$top_pid" "$json_pid")
    wait "$perf_pid" || { echo "$me: perf record failed:" >&2; cat "$tmp/$name.perf.log" >&2; exit 1; }
    wait "$top_pid" || { echo "$me: GET /api/v1/profile failed" >&2; tail -5 "$tmp/agent.log" >&2; exit 1; }
    wait "$json_pid" || { echo "$me: sonde profile failed" >&2; exit 1; }
    wait "$pid" || true
    children=()
    perf report -i "$tmp/$name.perf" --stdio --no-children --sort symbol -g none -n -t $'\t' \
        2>"$tmp/$name.report.log" | grep -v '^#' | grep -v '^$' >"$tmp/$name.report" || true
    echo "$pid" >"$tmp/$name.pid"
}

for workload in $workloads; do
    echo "$me: profiling the $workload workload for $duration s at $hz Hz..." >&2
    compare "$workload"
done

python3 - "$tmp" "$duration" "$hz" $workloads <<'PY'
import json, re, sys

tmp, duration, hz, workloads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
TOP = 5
TITLES = {
    "c": "C (bench/profile-workload; expect hot_a_40 > hot_b_25 > hot_c_15 > hot_d_10 > hot_e_6)",
    "python": "Debian's python3 (fib, float pow, str join, dict updates)",
}

def key(name):
    """A name both tools would give the same function: unresolved addresses
    are `0x000…174f5f` in perf and `[unknown] python3.11+0x174f5f` in sonde
    (both file offsets)."""
    m = re.fullmatch(r"0x([0-9a-f]+)", name) or re.fullmatch(r"\[unknown\] \S*\+0x([0-9a-f]+)", name)
    return f"[unknown] {int(m.group(1), 16):#x}" if m else name

def perf_top(path):
    rows, total = [], 0
    for line in open(path):
        fields = line.rstrip("\n").split("\t")
        if len(fields) < 3:
            continue
        percent, samples = float(fields[0].strip().rstrip("%")), int(fields[1].strip())
        name = re.sub(r"^\[.\] ", "", fields[2].strip())
        total += samples
        rows.append((name, samples, percent))
    return rows[:TOP], total

def sonde_api_top(path):
    rows = [(e["name"], e["samples"], e["percent"]) for e in json.load(open(path))]
    total = round(rows[0][1] * 100 / rows[0][2]) if rows and rows[0][2] else 0
    return rows[:TOP], total

def sonde_folded_top(path):
    """Self time with perf's rule: an inlined leaf frame counts for the
    function it was inlined into (the nearest outer frame not inlined)."""
    counts, total = {}, 0
    for profile in json.load(open(path)):
        frames = profile["frames"]
        for stack in profile["stacks"]:
            total += stack["samples"]
            ids = stack["frames"]
            if not ids:
                continue
            i = len(ids) - 1
            while i > 0 and frames[ids[i]]["inlined"]:
                i -= 1
            f = frames[ids[i]]
            name = f["function"] or f'[unknown] {f["module"].rsplit("/", 1)[-1]}+{f["offset"]:#x}'
            counts[name] = counts.get(name, 0) + stack["samples"]
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(n, s, 100 * s / total) for n, s in ranked[:TOP]], total

def verdict(reference, other):
    a, b = [key(n) for n, _, _ in reference], [key(n) for n, _, _ in other]
    common = set(a) & set(b)
    if set(a) == set(b):
        sets = "same"
    else:
        only_ref = ", ".join(n for n in a if n not in common)
        only_other = ", ".join(n for n in b if n not in common)
        sets = f"{len(common)} of {TOP} shared (perf only: {only_ref}; sonde only: {only_other})"
    order = "same" if a == b else next(
        f"differs from rank {i + 1}" for i in range(max(len(a), len(b)))
        if i >= len(a) or i >= len(b) or a[i] != b[i])
    share = {key(n): p for n, _, p in other}
    gaps = [(abs(p - share[key(n)]), n, p) for n, _, p in reference if key(n) in share]
    gap = max(gaps) if gaps else None
    return sets, order, gap

def sigmas(gap, percent, samples):
    """The gap between two independent samplings of one share, in standard
    deviations of their difference."""
    p = percent / 100
    sd = 100 * (2 * p * (1 - p) / samples) ** 0.5 if samples else 0
    return gap / sd if sd else float("inf")

def cut(s, w):
    return s if len(s) <= w else s[: w - 1] + "~"

W = 30
for name in workloads:
    pid = open(f"{tmp}/{name}.pid").read().strip()
    perf, perf_total = perf_top(f"{tmp}/{name}.report")
    api, api_total = sonde_api_top(f"{tmp}/{name}.top.json")
    folded, folded_total = sonde_folded_top(f"{tmp}/{name}.profiles.json")
    print()
    print(f"== {TITLES[name]}: pid {pid}, {duration} s at {hz} Hz")
    columns = ["perf report --sort symbol", "sonde API format=top", "sonde -o json, inlined folded"]
    print(f'{"":4}' + "".join(f"{c:<{W + 10}}" for c in columns).rstrip())
    for rank in range(TOP):
        line = f"{rank + 1:<4}"
        for rows in (perf, api, folded):
            if rank < len(rows):
                n, _, p = rows[rank]
                line += f"{p:6.2f}%  {cut(n, W):<{W + 1}}"
            else:
                line += f'{"":{W + 10}}'
        print(line.rstrip())
    print(f'{"samples":<4}' + "".join(f"{t:>7}   {'':<{W}}" for t in (perf_total, api_total, folded_total)).rstrip())
    if perf_total:
        last = perf[-1][2] / 100 if perf else 0
        noise = 100 * (last * (1 - last) / perf_total) ** 0.5
        print(f"sampling noise: +/-{noise:.2f} points (1 sigma) on a {100 * last:.1f}% share of {perf_total} samples;"
              " ranks closer than that may swap between any two runs")
    for label, rows in (("sonde API top", api), ("sonde, inlined folded", folded)):
        sets, order, gap = verdict(perf, rows)
        gap_text = (f"; largest share gap {gap[0]:.2f} points ({gap[1]}, "
                    f"{sigmas(gap[0], gap[2], perf_total):.1f} sigma of two samplings)") if gap else ""
        print(f"perf vs {label}: set {sets}; order {order}{gap_text}")
PY
