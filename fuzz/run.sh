#!/usr/bin/env bash
# Runs a halab fuzz target for SECONDS (default 120) on stable Rust, and exits non-zero
# if it finds a crash (the input is saved under fuzz/artifacts/TARGET/).
#
#   fuzz/run.sh SECONDS [TARGET]     TARGET: decode (default), instance or kaconf
#
# kaconf (the keepalived.conf parser) is seeded with daemon/tests/conformance/*.conf.
#
# cargo-fuzz needs nightly only for sanitizers; with `--sanitizer none` it passes stable
# codegen flags only (-Cpasses=sancov-module, -Cllvm-args=...), so no RUSTC_BOOTSTRAP.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a C++ compiler for libFuzzer.
set -euo pipefail

seconds="${1:-120}"
target="${2:-decode}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

corpus="corpus/$target"
mkdir -p "$corpus"
seeds=()
if [[ -d "seeds/$target" ]]; then
    seeds=("seeds/$target")
fi
if [[ "$target" == kaconf ]]; then
    seeds+=("../daemon/tests/conformance")
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo fuzz run --sanitizer none --release "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 2>&1 | tee "$log" || status=$?

runs="$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
rate="$(grep -oE '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)"
echo "fuzz $target: ${runs:-?} runs in ${seconds} s, ${rate:-?} execs/s, ${cov:-cov: ?}, exit status $status"
exit "$status"
