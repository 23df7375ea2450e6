#!/usr/bin/env bash
# Builds every cargo-fuzz target, to prove they still compile (fuzzing itself is too
# slow for CI; the corpora are replayed by the crates' tests, see fuzz/README.md).
# Installs cargo-fuzz if it is missing. Runs on the stable toolchain.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/ci.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer=address); stable accepts them
# with RUSTC_BOOTSTRAP=1. --dev: the quickest build that still compiles and links
# every target with the sanitizer and libFuzzer.
export RUSTC_BOOTSTRAP=1
cargo fuzz build --dev

# Every target has a committed, non-empty corpus (the replay tests read them).
status=0
for target in $(cargo fuzz list); do
    if [ -z "$(find "corpus/$target" -maxdepth 1 -type f -print -quit 2>/dev/null)" ]; then
        echo "fuzz/ci.sh: fuzz/corpus/$target is missing or empty" >&2
        status=1
    fi
done
exit "$status"
