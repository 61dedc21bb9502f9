#!/usr/bin/env bash
# A real report in a real browser: quantizes the zoo's GoogLeNet at 4 bits with feature-map
# tuning, compares methods, sweeps widths, ranks sensitivity and profiles speed into one
# folder, draws report.html (every section), and checks it
# with scripts/report_check.js in headless chromium (no console error, every figure drawn, no
# network request), saving a screenshot. Exits 77 (CTest's skip) when the browser is missing.
#   bash tests/report_check/zoo_report.sh GAMMAQ OUT_DIR     # NODE=/path/to/node
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
gammaq="$1"
out="$2/report-googlenet"
node="${NODE:-node}"
model="$root/models/googlenet.onnx"
calib="fashion-mnist:train[0:500]"
test="fashion-mnist:test[0:500]"
rm -rf "$out"
"$gammaq" quantize "$model" --calib "$calib" --val 'fashion-mnist:train[59000:59400]' \
  --test "$test" --wbits 4 --abits 4 --tune a --report --report-images 100 --out "$out" --quiet
"$gammaq" compare "$model" --calib "$calib" --test "$test" --bits 4,8 \
  --methods ggd,ristretto,kl,aciq --out "$out" --quiet >/dev/null
"$gammaq" sweep "$model" --calib "$calib" --test "$test" --bits 4,6,8 \
  --schemes ristretto,WQ_FQ --out "$out" --quiet >/dev/null
"$gammaq" sensitivity "$model" --calib "$calib" --val 'fashion-mnist:train[59000:59400]' \
  --bits 4 --attempts 2 --out "$out" --quiet >/dev/null
"$gammaq" profile "$model" --quant "$out" --batch 32 --repeat 2 --quiet >/dev/null
"$gammaq" report "$out" --quiet
set +e
"$node" "$root/scripts/report_check.js" "$out/report.html" --min-figures 65 \
  --screenshot "$out/report.png"
rc=$?
set -e
exit $rc
