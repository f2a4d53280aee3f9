#!/bin/sh
# A symlink view of the installed layout (guanai/archive -> ../../archive, ...) for static tools
# (mypy, import-linter) that cannot follow setuptools' package-dir mapping of an editable install.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
view="$root/build/view"
rm -rf "$view"
mkdir -p "$view/guanai"
for f in "$root"/guanai/*; do ln -s "$f" "$view/guanai/$(basename "$f")"; done
for d in archive care cli generators search templates web; do ln -s "$root/$d" "$view/guanai/$d"; done
echo "$view"
