#!/usr/bin/env bash
# Prepares a fresh Debian machine to build, run and test sonde. Idempotent:
# installs only what is missing and mounts only what is not mounted.
set -euo pipefail

packages=(clang-19 clang-format-19 libelf-dev zlib1g-dev pkg-config bpftool build-essential util-linux iproute2 nftables python3 curl
    nginx unbound dnsutils openssl tcpdump wrk linux-perf golang-go prometheus
    cron netcat-traditional nmap)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# tracefs (tracepoint ids) and bpffs (pinning); the agent also mounts them itself.
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

if [ ! -r /sys/kernel/btf/vmlinux ]; then
    echo "setup: this kernel has no BTF (/sys/kernel/btf/vmlinux); sonde needs CONFIG_DEBUG_INFO_BTF=y" >&2
    exit 1
fi
