#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of every parser that takes outside bytes; the
# targets and their properties are in fuzz/fuzz_targets/ (docs/fuzzing.md).
#
# Usage: scripts/fuzz.sh [--smoke] [SECONDS] [TARGET...]
#   SECONDS   how long each target runs (default 300); the test command runs `--smoke 4`
#   TARGET    the targets to run (default: all)
#   --smoke   start from the committed seeds and a fresh corpus, and keep nothing, as CI does;
#             without it, each target's corpus grows in $FUZZ_WORK/corpus/TARGET across runs
#
# Inputs are fuzz/seeds/TARGET (from the tests' own cases) and fuzz/regressions/TARGET (every
# input that ever failed, replayed first). A failing input is saved under $FUZZ_WORK/artifacts
# and the script exits non-zero naming it. Installs cargo-fuzz with cargo when it is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

smoke=false
if [[ ${1-} == --smoke ]]; then
    smoke=true
    shift
fi
seconds=300
if [[ ${1-} =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi

die() {
    echo "scripts/fuzz.sh: $*" >&2
    exit 1
}

CARGO_FUZZ_VERSION=0.13.1
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo install cargo-fuzz@$CARGO_FUZZ_VERSION"
    cargo install --quiet --locked "cargo-fuzz@$CARGO_FUZZ_VERSION" || die "cannot install cargo-fuzz"
fi

target_dir="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
FUZZ_WORK="${FUZZ_WORK:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz-work}"
mapfile -t all < <(cd fuzz && cargo fuzz list)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for target in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $target "* ]] || die "no fuzz target '$target'; the targets: ${all[*]}"
done

# No sanitizer: the code under test is safe Rust, so what fuzzing looks for is panics, failed
# property assertions, arithmetic overflow (debug assertions are on), hangs (-timeout) and
# runaway memory (-rss_limit_mb). A sanitizer would need a nightly compiler and find nothing
# more here.
echo "cargo fuzz build"
(cd fuzz && cargo fuzz build --sanitizer none --target-dir "$target_dir") || die "cargo fuzz build failed"

failed=()
for target in "${targets[@]}"; do
    if $smoke; then
        corpus=$(mktemp -d)
    else
        corpus="$FUZZ_WORK/corpus/$target"
    fi
    artifacts="$FUZZ_WORK/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    inputs=("$corpus" "$PWD/fuzz/seeds/$target")
    [[ -d fuzz/regressions/$target ]] && inputs+=("$PWD/fuzz/regressions/$target")
    log=$(mktemp)
    if (cd fuzz && cargo fuzz run --sanitizer none --target-dir "$target_dir" "$target" \
        "${inputs[@]}" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1) >"$log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
        cover=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
        echo "fuzz $target: ${seconds}s, $runs inputs, ${cover:-cov: ?}, no failure"
    else
        echo "fuzz $target: FAILED; the output's end:" >&2
        tail -40 "$log" >&2
        failed+=("$target")
    fi
    rm -f "$log"
    $smoke && rm -rf "$corpus"
done
[[ ${#failed[@]} -eq 0 ]] || die "fuzz targets failed: ${failed[*]} (failing inputs in $FUZZ_WORK/artifacts)"
