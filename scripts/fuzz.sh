#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/*_fuzz.cc) with clang-14 and runs each for
# SECONDS (default 30) on a scratch copy of its seed corpus (tests/fuzz/corpus/<name>/).
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGAMMAQ_FUZZ=ON -DGAMMAQ_WERROR=OFF -DGAMMAQ_BENCH=OFF >/dev/null
fi
targets=()
for f in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
for t in "${targets[@]}"; do
  name="${t%_fuzz}"
  work="$(mktemp -d)"
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
  echo "fuzz: $t for ${seconds}s" >&2
  mkdir -p "$build/artifacts"
  if ! (cd "$work" && ASAN_OPTIONS=detect_leaks=0 "$OLDPWD/$build/tests/$t" \
          -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
          -artifact_prefix="$OLDPWD/$build/artifacts/" "$work" >"$work.log" 2>&1); then
    tail -n 60 "$work.log"
    echo "fuzz: $t found a failure; reproducer in $build/artifacts/" >&2
    rm -rf "$work" "$work.log"
    exit 1
  fi
  grep '^stat::' "$work.log" | head -n 2
  rm -rf "$work" "$work.log"
done
