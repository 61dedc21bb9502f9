#!/usr/bin/env bash
# Bit-exactness of the integer engine against both simulations on every zoo model:
# quantize (GGD, calibration train[0:500]) at each width, then `gammaq run --verify`.
#   bash scripts/verify_zoo.sh [IMAGES=256] [BITS="4 6 8 16"] [BUILD=build] [SIMS="fast reference"]
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-256}
bits=${2:-"4 6 8 16"}
bin=${3:-build}/gammaq
sims=${4:-"fast reference"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| model | bits | simulation | logits | differing logits | differing images | other top-1 | max steps |"
echo "|---|---:|---|---:|---:|---:|---:|---:|"
for m in $(ls models/*.onnx | xargs -n1 basename | sed 's/\.onnx$//'); do
  for b in $bits; do
    "$bin" quantize "models/$m.onnx" --calib 'fashion-mnist:train[0:500]' --wbits "$b" \
      --abits "$b" --out "$tmp/$m$b" --quiet >/dev/null
    for k in $sims; do
      "$bin" run "$tmp/$m$b" --data "fashion-mnist:test[0:$images]" --verify "$k" --quiet --json |
        node -e 'const j=JSON.parse(require("fs").readFileSync(0)).verify;
          console.log(`| '"$m"' | '"$b"' | '"$k"' | ${j.logits} | ${j.differing_logits} | ` +
            `${j.differing_images} | ${j.differing_top1} | ${j.max_difference_steps} |`)'
    done
  done
done
