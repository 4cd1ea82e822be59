#!/bin/sh
# Benchmark (not a test): start-up time of a console script that imports
# N distributions (default 50), three ways:
#
#   flat      one directory holding all N packages (a virtualenv's
#             site-packages)
#   buildout  one sys.path entry per distribution, as zc.buildout's
#             scripts have (the same store objects, listed one by one)
#   ours      the script `buildout` generates: sys.path = [<part>/site],
#             a merged directory of symlinks into the store
#
# Each package also imports a few standard-library modules, so misses on a
# long sys.path are paid as they are in real applications.
#
#   bench/startup.sh [N] [RUNS]      (defaults 50 and 30; needs hyperfine)
set -eu
n=${1:-50}
runs=${2:-30}
cd "$(dirname "$0")/.."
cargo build --quiet
bin=$(pwd)/target/debug/buildout
python=$(python3 -c 'import sys; print(sys.executable)')
dir=$(mktemp -d)
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT
export BUILDOUT_STORE="$dir/store" HOME="$dir/home"
mkdir -p "$dir/b" "$dir/wheels" "$dir/empty" "$HOME"

# N wheels pkgNNN, plus `app` requiring them all with a console script.
"$python" - "$dir/wheels" "$n" <<'PY'
import base64, hashlib, sys, zipfile
out, n = sys.argv[1], int(sys.argv[2])
def wheel(name, files, deps=(), scripts=None):
    di = f"{name}-1.0.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n" + "".join(
        f"Requires-Dist: {d}\n" for d in deps)
    files = dict(files)
    files[f"{di}/METADATA"] = meta
    files[f"{di}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if scripts:
        files[f"{di}/entry_points.txt"] = "[console_scripts]\n" + "".join(
            f"{k} = {v}\n" for k, v in scripts.items())
    record = []
    for path, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{di}/RECORD,,")
    files[f"{di}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(f"{out}/{name}-1.0-py3-none-any.whl", "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
names = [f"pkg{i:03d}" for i in range(n)]
for name in names:
    wheel(name, {f"{name}/__init__.py": "import json, decimal\nVALUE = 1\n"})
body = "".join(f"import {m}\n" for m in names)
body += "import email.parser, http.client, argparse\n\ndef main():\n    pass\n"
wheel("app", {"app/__init__.py": body}, deps=names, scripts={"app": "app:main"})
PY

cd "$dir/b"
cat > buildout.cfg <<CFG
[buildout]
parts = app
index = file://$dir/empty
find-links = $dir/wheels

[app]
recipe = zc.recipe.egg
eggs = app
CFG
"$bin" -q
ours=$dir/b/bin/app

# The same store objects, one sys.path entry each (zc.buildout's shape).
part=$(readlink "$dir/b/parts/app")
"$python" - "$part" "$dir" "$python" <<'PY'
import json, os, shutil, sys
part, dir, python = sys.argv[1:]
dists = [d["path"] for d in json.load(open(f"{part}/working-set.json"))]
script = "import app\napp.main()\n"
with open(f"{dir}/buildout-style", "w") as f:
    f.write(f"#!{python}\n\nimport sys\nsys.path[0:0] = [\n")
    f.write("".join(f"  {p!r},\n" for p in dists))
    f.write(f"  ]\n\n{script}")
flat = f"{dir}/flat"
os.mkdir(flat)
for d in dists:
    for entry in os.listdir(d):
        if not entry.startswith("."):
            src = os.path.join(d, entry)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(flat, entry))
with open(f"{dir}/flat-style", "w") as f:
    f.write(f"#!{python}\n\nimport sys\nsys.path[0:0] = [\n  {flat!r},\n  ]\n\n{script}")
os.chmod(f"{dir}/buildout-style", 0o755)
os.chmod(f"{dir}/flat-style", 0o755)
PY
"$python" -m compileall -q "$dir/flat"

hyperfine --warmup 3 --runs "$runs" -N \
    -n "flat ($n dists, one directory)" "$dir/flat-style" \
    -n "buildout-style ($n sys.path entries)" "$dir/buildout-style" \
    -n "ours (site/ of symlinks)" "$ours" \
    -n "bare python -c pass" "$python -c pass"
