#!/usr/bin/env bash
# The test command (README, .ci/run): set up, build, run the whole suite with CTest.
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build="${GAMMAQ_BUILD_DIR:-build}"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
