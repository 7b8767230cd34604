#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds, runs every CTest test
# (unit, config, HTTP handler, end-to-end against a spawned tiercached, deploy checks),
# then builds core with ThreadSanitizer and runs its tests, the L1 stress test included.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
ctest --test-dir build --output-on-failure

cmake -S . -B build-tsan -DTIERCACHE_TSAN=ON
cmake --build build-tsan -j2
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ctest --test-dir build-tsan --output-on-failure
