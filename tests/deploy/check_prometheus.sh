#!/bin/sh
# Checks the Prometheus assets under deploy/prometheus/ with promtool.
#   check_prometheus.sh config SOURCE_DIR   promtool check config prometheus.yml (and its rules)
#   check_prometheus.sh rules  SOURCE_DIR   promtool check rules tiercache_rules.yml
#   check_prometheus.sh test   SOURCE_DIR   promtool test rules tiercache_rules_test.yml
# Exits 0 when the check passes.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 config|rules|test SOURCE_DIR" >&2
  exit 2
fi
mode=$1
dir=$2/deploy/prometheus

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found (Debian package prometheus; tools/install-deps.sh installs it)" >&2
  exit 1
fi

case "$mode" in
  config) promtool check config "$dir/prometheus.yml" ;;
  rules) promtool check rules "$dir/tiercache_rules.yml" ;;
  test) promtool test rules "$dir/tiercache_rules_test.yml" ;;
  *)
    echo "unknown check '$mode' (expected config, rules or test)" >&2
    exit 2
    ;;
esac
