#!/usr/bin/env bash
# Installs the npm packages pinned in scripts/package.json and package-lock.json into
# scripts/node_modules: onnxruntime-node (ORT cross-checks, benchmarks) and puppeteer-core
# (report_check.js drives the Debian chromium that setup.sh installs; puppeteer-core never
# downloads a browser). Idempotent and quiet on success.
#
# Install scripts are skipped (--ignore-scripts): onnxruntime-node's only
# downloads optional CUDA/TensorRT providers, which fails offline. The CPU
# runtime ships inside the npm package itself:
#   node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node
#   node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
# and the binding finds the .so through its RUNPATH ($ORIGIN), so nothing is
# copied into system directories and no LD_LIBRARY_PATH is needed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

die() {
  echo "setup_ort: error: $*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || die "node not found on PATH (Node.js 20 is what this was tested with)"
command -v npm >/dev/null 2>&1 || die "npm not found on PATH"

# Succeeds when every pinned package is installed at its pinned version, the native
# onnxruntime-node binding loads and puppeteer-core loads.
check() {
  node -e '
    "use strict";
    for (const [name, want] of Object.entries(require("./package.json").dependencies)) {
      const have = require(`${name}/package.json`).version;
      if (have !== want) throw new Error(`${name} ${have} installed, ${want} pinned`);
    }
    const ort = require("onnxruntime-node");
    if (typeof ort.InferenceSession !== "function") throw new Error("no InferenceSession export");
    if (typeof require("puppeteer-core").launch !== "function") throw new Error("no puppeteer-core launch export");
  '
}

if check >/dev/null 2>&1; then
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# npm ci installs exactly what package-lock.json records and never rewrites it.
if [ -f package-lock.json ]; then
  install=(npm ci)
else
  install=(npm install)
fi
if ! "${install[@]}" --ignore-scripts --no-audit --no-fund --loglevel=error \
  --fetch-retries=1 --fetch-timeout=60000 >"$log" 2>&1; then
  registry="$(npm config get registry 2>/dev/null || echo '?')"
  if grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|socket hang up|timed out' "$log"; then
    grep -m 3 -E 'npm error (code|errno|.*reason)' "$log" | sed 's/^/  /' >&2 || true
    die "npm registry $registry is unreachable; '${install[*]}' in $here failed (log above)"
  fi
  sed 's/^/  /' "$log" | tail -n 20 >&2
  die "'${install[*]} --ignore-scripts' in $here failed (log above)"
fi

if ! check >"$log" 2>&1; then
  sed 's/^/  /' "$log" | tail -n 10 >&2
  die "npm packages were installed but do not load (log above)"
fi
