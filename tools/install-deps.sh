#!/usr/bin/env bash
# Installs every Debian 12 package tiercache needs to build, test and benchmark.
# Idempotent: when everything is present it returns in well under a second.
set -euo pipefail

PACKAGES=(
  cmake g++ make pkg-config ccache git ca-certificates curl python3
  libboost-dev libboost-system-dev libboost-program-options-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libspdlog-dev libfmt-dev libyaml-cpp-dev catch2 libbenchmark-dev
  libre2-dev nlohmann-json3-dev libsystemd-dev libcli11-dev
  libhiredis-dev libpq-dev libjemalloc-dev libzstd-dev liblz4-dev
  redis-server redis-tools postgresql-15 postgresql-client-15
  systemd
  prometheus python3-prometheus-client
  python3-redis python3-django python3-django-redis
  python3-pytest python3-yaml python3-grpcio python3-protobuf
  python3-venv python3-setuptools python3-pip
  tmux
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
