#!/usr/bin/env bash
# The installed library, as another project sees it (ctest -R library_install):
#   1. cmake --install BUILD into a fresh prefix: public headers only, each compiling on its own
#      against the prefix; no installed CMake file names the source tree;
#   2. configure and build examples/library with find_package(gammaq) against that prefix;
#   3. run it on a Fashion-MNIST slice and check what it prints: 8-bit top-1 within MAX_GAP of
#      float, the integer engine equal to the exact simulation (accuracy and every logit),
#      arrays and spec calibrating alike, quant.json round-tripping, a C export written.
# usage: library_install.sh BUILD_DIR SOURCE_DIR WORK_DIR [GENERATOR]
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2") work=$3 generator=${4:-Ninja}
max_gap=0.03
model=$src/models/mobilenetv2.onnx
calib='fashion-mnist:train[50000:50200]'  # the zoo's held-out training images
test_spec='fashion-mnist:test[0:200]'

fail() { echo "library_install: FAIL: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"

# 1. What is installed.
[ -f "$prefix/include/gammaq/gammaq.h" ] || fail "include/gammaq/gammaq.h not installed"
[ -f "$prefix/lib/cmake/gammaq/gammaqConfig.cmake" ] || fail "no gammaqConfig.cmake"
others=$(find "$prefix/include" -type f ! -path "$prefix/include/gammaq/*")
[ -z "$others" ] || fail "headers outside include/gammaq: $others"
if grep -rl "$src" "$prefix/lib/cmake"; then fail "installed CMake files name the source tree"; fi
for h in "$prefix"/include/gammaq/*.h; do
  echo "#include <gammaq/$(basename "$h")>" |
    c++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -x c++ -I"$prefix/include" - ||
    fail "$h does not compile on its own against the installed headers"
done

# 2. An out-of-tree build against the prefix alone.
cmake -S "$src/examples/library" -B "$work/build" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" || { cat "$work/configure.log"; fail configure; }
cmake --build "$work/build" >"$work/build.log" || { cat "$work/build.log"; fail build; }

# 3. Run and check.
"$work/build/quantize_model" "$model" "$calib" "$test_spec" "$work/out" | tee "$work/out.txt" ||
  fail "quantize_model exited with $?"
value() { awk -v k="$1" '$1 == k { print $2 }' "$work/out.txt"; }
[ "$(value ok)" = 1 ] || fail "the example's own checks failed"
[ "$(value float_images)" = 200 ] || fail "float_images $(value float_images), expected 200"
[ "$(value logits_differing)" = 0 ] || fail "integer engine differs from the exact simulation"
[ "$(value integer_top1)" = "$(value simulation_exact_top1)" ] || fail "integer top-1 != simulation"
[ "$(value formats_max_bits)" = 8 ] || fail "formats wider than 8 bits"
awk -v f="$(value float_top1)" -v q="$(value quantized_top1)" -v g=$max_gap \
  'BEGIN { exit !(f - q <= g) }' || fail "quantized top-1 $(value quantized_top1) more than $max_gap below float $(value float_top1)"
for f in quant.json model.onnx summary.json; do
  [ -s "$work/out/quantized/$f" ] || fail "save() did not write $f"
done
ls "$work"/out/c/*.h >/dev/null || fail "no C header exported"
echo "library_install: ok"
