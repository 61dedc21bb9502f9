#!/usr/bin/env bash
# Installs what gammaq needs on Debian bookworm (as root, or with sudo), then builds it.
#   bash scripts/setup.sh            # packages + ONNX Runtime (npm) + release build in build/
#   GAMMAQ_BUILD_DIR=dir bash scripts/setup.sh
# Idempotent: installs only missing packages; quiet when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every package the build, the tests and the main job need on a fresh bookworm (minbase) root;
# scripts/fresh_check.sh proves the list. ocl-icd-opencl-dev: libdnnl-dev only recommends it,
# but dnnl-config.cmake's find_package(OpenCL) fails without it. ca-certificates: npm's https
# registry (a minbase root has no CA bundle).
packages=(g++ cmake ninja-build pkg-config ca-certificates libgtest-dev libgmock-dev
  libbenchmark-dev libonnx-dev libprotobuf-dev protobuf-compiler libdnnl-dev ocl-icd-opencl-dev
  nlohmann-json3-dev libcli11-dev libstb-dev zlib1g-dev dataset-fashion-mnist clang-14
  libclang-rt-14-dev clang-format-14 libboost-math-dev chromium)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# npm packages (--ignore-scripts): onnxruntime-node for ORT cross-checks and benchmarks,
# puppeteer-core for the HTML report check in headless chromium (scripts/report_check.js).
bash scripts/setup_ort.sh ||
  echo "setup: npm packages unavailable; ORT cross-checks and the browser report check will be skipped" >&2

build="${GAMMAQ_BUILD_DIR:-build}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j"$(nproc)"
