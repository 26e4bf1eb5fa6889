#!/usr/bin/env bash
# Fails when a C++ source differs from what .clang-format asks for.
# Usage: check-format.sh ROOT
set -uo pipefail
root=${1:?usage: check-format.sh ROOT}
cd "$root" || exit 1
if ! command -v clang-format >/dev/null; then
  echo "clang-format is not installed (tools/setup.sh installs it)"
  echo "0 passed, 1 failed"
  exit 1
fi
files=$(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find actors protocols modules tools tests -name '*.[ch]pp')
bad=0
count=0
for f in $files; do
  count=$((count + 1))
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "needs clang-format: $f"
    bad=$((bad + 1))
  fi
done
echo "checked $count files"
echo "$((count - bad)) passed, $bad failed"
[[ $bad -eq 0 ]]
