#!/bin/sh
# Benchmark (not a test): how long gc takes to mark a store of N objects.
#
# Fills a fresh temporary store with N small objects in chains of ten
# (`store debug-populate`, half of the chains pinned), then runs
# `gc --dry-run -v`, which prints the time spent loading the reference graph
# and marking from the roots, and a real `gc`.
#
#   bench/gc-mark.sh [N]        (default 10000; builds --release first)
set -eu
n=${1:-10000}
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/buildout
dir=$(mktemp -d)
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT
export BUILDOUT_STORE="$dir/store"
"$bin" store debug-populate "$n"
echo "--- gc --dry-run -v"
"$bin" -v gc --dry-run | grep -v "^/"
echo "--- gc -v (wall time includes deleting)"
start=$(date +%s.%N)
"$bin" -v gc | grep -v "^deleted /"
end=$(date +%s.%N)
echo "gc wall time: $(echo "$end - $start" | bc) s"
