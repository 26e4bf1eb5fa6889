#!/usr/bin/env bash
# The core knows no module and no protocol: no source under actors/ may
# include anything from modules/ or protocols/. Usage: layering_test.sh ROOT
set -uo pipefail
root=${1:?usage: layering_test.sh ROOT}
offenders=$(grep -rnE '#\s*include\s*[<"](modules|protocols)/' "$root/actors" || true)
if [[ -n "$offenders" ]]; then
  echo "actors/ must not include modules/ or protocols/:"
  echo "$offenders"
  echo "0 passed, 1 failed"
  exit 1
fi
count=$(find "$root/actors" -name '*.[ch]pp' | wc -l)
if [[ "$count" -eq 0 ]]; then
  echo "no sources found under $root/actors"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "checked $count sources under actors/"
echo "1 passed, 0 failed"
