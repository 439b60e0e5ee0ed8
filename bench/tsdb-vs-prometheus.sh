#!/usr/bin/env bash
# sonde's metrics store and PromQL engine side by side with a real Prometheus,
# in one run:
#  1. a realistic corpus: node-exporter and Prometheus's own /metrics scraped
#     every --interval s for --minutes, scrape N stamped t0 + N x 15 s (so one
#     second of real change per 15 s sample: counters move less than in a
#     real 15 s scrape), written once as OpenMetrics (corpus.om);
#  2. bytes/sample of that corpus and of synthetic constant, counter and
#     random-float64 series (1000 x 480 samples, 15 s apart): Prometheus's
#     blocks written by `promtool tsdb create-blocks-from openmetrics` (chunk
#     data; chunk files as stored; chunks + index) vs sonde's head chunks;
#  3. sonde's head-append ingest rate on one thread (Prometheus's own append
#     rate needs its Go sources: not measured);
#  4. query latency: `tsdb-bench serve` (the corpus in sonde's Db behind
#     sonde_api::prom::router) and Prometheus on promtool's blocks answer the
#     same queries (bench/tsdb-bench/src/query.rs) --reps times each,
#     alternating, a new HTTP/1.0 connection per query; p50/p90 per query,
#     the ratio, and whether answers match. Evaluation times are kept 7 s
#     off the sample grid: Prometheus 2.42 selects [t - range, t], sonde
#     (as Prometheus 3) (t - range, t], which differ on a sample at t - range.
#     Skipped, and said so, when sonde's PromQL API does not build yet.
# Results: --out DIR (default: a new /tmp/sonde-tsdb-vs-prometheus.* dir);
# the tables are printed and saved in DIR/results.txt.
#
# Usage: bash bench/tsdb-vs-prometheus.sh [--minutes N] [--interval S] [--reps N]
#            [--ingest-series N] [--ingest-samples N] [--out DIR] [--no-build]
# Needs prometheus, promtool and curl (Debian: apt-get install prometheus
# curl); prometheus-node-exporter for the node corpus (without it, only
# Prometheus's own metrics are scraped and the node queries answer nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=5
interval=1
reps=20
ingest_series=10000
ingest_samples=1000
out=
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes=$2; shift 2 ;;
        --interval) interval=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --ingest-series) ingest_series=$2; shift 2 ;;
        --ingest-samples) ingest_samples=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "tsdb-vs-prometheus.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
me=tsdb-vs-prometheus.sh
for tool in prometheus promtool curl; do
    command -v "$tool" >/dev/null || { echo "$me: SKIPPED: $tool not installed (apt-get install prometheus curl)"; exit 0; }
done
node_exporter=$(command -v prometheus-node-exporter || command -v node_exporter || true)

target_dir=${CARGO_TARGET_DIR:-$PWD/target}
bench=$target_dir/release/tsdb-bench
serve_built=0
if [ "$build" = 1 ]; then
    echo "== building tsdb-bench (release, into $target_dir)"
    if CARGO_TARGET_DIR=$target_dir cargo build --release -q -p tsdb-bench --features serve 2>"${TMPDIR:-/tmp}/$me.build.log"; then
        serve_built=1
    else
        echo "$me: tsdb-bench does not build with feature serve (sonde's PromQL API):" \
            "the query part will not run; $(grep -m1 '^error' "${TMPDIR:-/tmp}/$me.build.log" || true)"
        CARGO_TARGET_DIR=$target_dir cargo build --release -q -p tsdb-bench
    fi
else
    [ -x "$bench" ] || { echo "$me: no $bench (run without --no-build)" >&2; exit 1; }
    "$bench" features | grep -qx serve && serve_built=1
fi

out=${out:-$(mktemp -d /tmp/sonde-tsdb-vs-prometheus.XXXXXX)}
mkdir -p "$out"
results=$out/results.txt
: >"$results"
tmp=$(mktemp -d /tmp/sonde-tsdb-bench-tmp.XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "$*" | tee -a "$results"; }

# free_port: sets $port to a TCP port nobody listens on nor was given
# before (not in a subshell: $RANDOM must advance here).
used_ports=" "
port=
free_port() {
    while :; do
        port=$((20000 + RANDOM % 40000))
        [[ $used_ports == *" $port "* ]] && continue
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        used_ports+="$port "
        return
    done
}

# wait_http URL SECONDS: until URL answers 200.
wait_http() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        curl -sf -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "$me: $1 did not answer in $2 s" >&2
    return 1
}

# start_prometheus CONFIG STORAGE PORT LOG: its pid is appended to pids.
start_prometheus() {
    prometheus --config.file="$1" --storage.tsdb.path="$2" \
        --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$3" \
        --log.level=warn >"$4" 2>&1 &
    pids+=($!)
    wait_http "http://127.0.0.1:$3/-/ready" 60
}

stop_last() {
    local pid=${pids[-1]}
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset 'pids[-1]'
}

# 1. Corpus.
scrapes=$out/scrapes
rm -rf "$scrapes"
mkdir -p "$scrapes/prometheus"
free_port; prom_port=$port
targets=()
if [ -n "$node_exporter" ]; then
    free_port; ne_port=$port
    "$node_exporter" --web.listen-address="127.0.0.1:$ne_port" >"$out/node-exporter.log" 2>&1 &
    pids+=($!)
    wait_http "http://127.0.0.1:$ne_port/metrics" 30
    mkdir -p "$scrapes/node"
    echo "127.0.0.1:$ne_port" >"$scrapes/node/instance"
    targets+=(node)
else
    say "$me: no prometheus-node-exporter: the corpus is Prometheus's own metrics only"
fi
echo "127.0.0.1:$prom_port" >"$scrapes/prometheus/instance"
targets+=(prometheus)
cat >"$tmp/scrape.yml" <<EOF
global:
  scrape_interval: ${interval}s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:${ne_port:-9}"]
EOF
start_prometheus "$tmp/scrape.yml" "$tmp/scrape-tsdb" "$prom_port" "$out/prometheus-scrape.log"
count=$((minutes * 60 / interval))
echo "== scraping ${targets[*]} every ${interval}s, $count times"
next=${EPOCHREALTIME/./}
for ((n = 0; n < count; n++)); do
    file=$(printf '%06d.txt' "$n")
    for job in "${targets[@]}"; do
        instance=$(cat "$scrapes/$job/instance")
        curl -sf -m 5 -o "$scrapes/$job/$file" "http://$instance/metrics" || rm -f "$scrapes/$job/$file"
    done
    next=$((next + interval * 1000000))
    now=${EPOCHREALTIME/./}
    if [ "$next" -gt "$now" ]; then
        sleep "$(printf '%d.%06d' $(((next - now) / 1000000)) $(((next - now) % 1000000)))"
    fi
done
stop_last
if [ -n "$node_exporter" ]; then stop_last; fi
"$bench" corpus --scrapes "$scrapes" --out "$out/corpus.om" | tee -a "$results"

# 2. Bytes per sample.
say ""
say "== bytes/sample: Prometheus (promtool blocks) vs sonde (head chunks); ratio = sonde / Prometheus"
"$bench" bytes --corpus "$out/corpus.om" --work "$out/bytes" | tee -a "$results"

# 3. Ingest.
say ""
say "== sonde head-append ingest, one thread, $ingest_series series x $ingest_samples samples in scrape order"
"$bench" ingest --series "$ingest_series" --samples "$ingest_samples" | tee -a "$results"
say "(Prometheus's head-append rate is not measured: that needs its Go module sources)"

# 4. Queries.
say ""
if [ "$serve_built" = 0 ]; then
    say "== query latency: NOT RUN (sonde's PromQL HTTP API, sonde_api::prom::router, does not build yet)"
    echo "results in $out"
    exit 0
fi
say "== query latency over HTTP, $reps reps each after one warm-up; ratio = sonde p50 / Prometheus p50"
free_port; sonde_port=$port
"$bench" serve --corpus "$out/corpus.om" --listen "127.0.0.1:$sonde_port" >"$out/sonde-serve.log" 2>&1 &
pids+=($!)
cp -r "$out/bytes/realistic-blocks" "$tmp/query-tsdb"
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$tmp/query.yml"
free_port; query_port=$port
start_prometheus "$tmp/query.yml" "$tmp/query-tsdb" "$query_port" "$out/prometheus-query.log"
for ((i = 0; i < 600; i++)); do
    grep -q '^listening' "$out/sonde-serve.log" && break
    kill -0 "${pids[-2]}" 2>/dev/null || { cat "$out/sonde-serve.log" >&2; exit 1; }
    sleep 0.1
done
tee -a "$results" <"$out/sonde-serve.log"
"$bench" query --corpus "$out/corpus.om" --reps "$reps" \
    --sonde "http://127.0.0.1:$sonde_port" --prometheus "http://127.0.0.1:$query_port" | tee -a "$results"
echo "results in $out"
