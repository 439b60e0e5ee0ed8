# Shared by the benchmark scripts (sourced): start, wait for and stop a sonde
# agent on a fresh data dir under $tmp and a free loopback port. Uses $sonde,
# $tmp and $me (the script's name, for messages); sets $agent_pid, $port and
# $agent_status.

agent_pid=
agent_status=0

stop_agent() {
    [ -n "$agent_pid" ] || return 0
    kill -TERM "$agent_pid" 2>/dev/null || true
    local i
    for i in $(seq 1 300); do
        kill -0 "$agent_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$agent_pid" 2>/dev/null; then
        echo "$me: the agent did not stop within 30 s of SIGTERM; killing it" >&2
        kill -KILL "$agent_pid" 2>/dev/null || true
    fi
    agent_status=0
    wait "$agent_pid" || agent_status=$?
    agent_pid=
}

# A loopback port nothing listens on.
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        if ! ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
            echo "$port"
            return
        fi
    done
}

# Starts the agent (with any extra `sonde agent` flags given) and waits until
# its API answers; exits on failure.
start_agent() {
    local attempt
    for attempt in 1 2 3; do
        port=$(free_port)
        rm -rf "$tmp/data"
        "$sonde" agent --data-dir "$tmp/data" --listen "127.0.0.1:$port" "$@" 2>"$tmp/agent.log" &
        agent_pid=$!
        for _ in $(seq 1 150); do
            if curl -fsS -o /dev/null "http://127.0.0.1:$port/api/v1/status" 2>/dev/null; then
                return 0
            fi
            kill -0 "$agent_pid" 2>/dev/null || break
            sleep 0.2
        done
        echo "$me: agent did not answer on port $port (attempt $attempt):" >&2
        tail -5 "$tmp/agent.log" >&2
        stop_agent
    done
    echo "$me: cannot start the agent; see 'sonde doctor' or scripts/setup.sh" >&2
    exit 1
}
