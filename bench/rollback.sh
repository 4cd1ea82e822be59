#!/bin/sh
# Benchmark (not a test): `buildout rollback` on a buildout with N
# generations (default 50), and a no-op `install` re-run.
#
# Builds N generations of a two-part template buildout (each with a
# different `port`), then times R rollbacks alternating between the last
# two generations, and R unchanged re-runs.
#
#   bench/rollback.sh [N] [R]     (defaults 50 and 20; builds --release first)
set -eu
n=${1:-50}
r=${2:-20}
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$(pwd)/target/release/buildout
dir=$(mktemp -d)
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT
export BUILDOUT_STORE="$dir/store" HOME="$dir/home"
mkdir -p "$dir/b" "$HOME"
cd "$dir/b"
cat > buildout.cfg <<'CFG'
[buildout]
parts = start conf
port = 8000

[start]
recipe = collective.recipe.template
output = ${buildout:bin-directory}/start
mode = 755
inline =
    #!/bin/sh
    echo port ${buildout:port}

[conf]
recipe = collective.recipe.template
output = ${buildout:directory}/etc/app.conf
inline = port = ${buildout:port}
CFG
i=1
while [ "$i" -le "$n" ]; do
    "$bin" -q "port=$((8000 + i))" >/dev/null
    i=$((i + 1))
done
echo "generations: $("$bin" generations | wc -l)"
ms() { echo "($2 - $1) * 1000 / $r" | bc -l | xargs printf '%.2f'; }
start=$(date +%s.%N)
i=0
while [ "$i" -lt "$r" ]; do
    if [ $((i % 2)) -eq 0 ]; then "$bin" -q rollback >/dev/null; else "$bin" -q rollback "$n" >/dev/null; fi
    i=$((i + 1))
done
end=$(date +%s.%N)
echo "rollback: $(ms "$start" "$end") ms per run (mean of $r, process start included)"
"$bin" -q "port=$((8000 + n))" >/dev/null
start=$(date +%s.%N)
i=0
while [ "$i" -lt "$r" ]; do
    "$bin" -q "port=$((8000 + n))" >/dev/null
    i=$((i + 1))
done
end=$(date +%s.%N)
echo "unchanged install re-run: $(ms "$start" "$end") ms per run (mean of $r)"
