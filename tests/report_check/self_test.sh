#!/usr/bin/env bash
# Self-test of scripts/report_check.js on two hand-written reports: good.html must pass (and
# write a PNG with --screenshot), bad.html must fail naming each of its three problems (an
# empty plot, a console error, a network request). Exits 77 (CTest's skip code) when
# report_check.js skips because puppeteer-core or chromium is missing.
#   bash tests/report_check/self_test.sh        # NODE=/path/to/node to pick the interpreter
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
check="$here/../../scripts/report_check.js"
node="${NODE:-node}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() {
  echo "self_test: FAIL: $*" >&2
  failed=1
}

# run NAME ARGS...: runs report_check.js, leaving its exit status, stdout and stderr in
# $rc, $tmp/NAME.out and $tmp/NAME.err; passes a skip (77) straight through.
run() {
  local name="$1"
  shift
  "$node" "$check" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  if [ "$rc" -eq 77 ]; then
    cat "$tmp/$name.err" >&2
    exit 77
  fi
}

run good "$here/good.html" --min-figures 2 --screenshot "$tmp/good.png"
if [ "$rc" -ne 0 ]; then
  fail "good.html: exit $rc, expected 0"
  sed 's/^/  /' "$tmp/good.err" >&2
fi
grep -qx 'report_check: OK: 2 figures, 5 marks, no network requests' "$tmp/good.out" ||
  fail "good.html: unexpected stdout: $(cat "$tmp/good.out")"
[ "$(head -c 8 "$tmp/good.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
  fail "good.html: --screenshot wrote no PNG"

run good3 "$here/good.html" --min-figures 3
[ "$rc" -eq 1 ] || fail "good.html --min-figures 3: exit $rc, expected 1"
grep -q 'FAIL: 2 figure.gq-figure elements, expected at least 3' "$tmp/good3.err" ||
  fail "good.html --min-figures 3: figure count not reported"

run bad "$here/bad.html"
[ "$rc" -eq 1 ] || fail "bad.html: exit $rc, expected 1"
[ -s "$tmp/bad.out" ] && fail "bad.html: printed on stdout: $(cat "$tmp/bad.out")"
for want in \
  'FAIL: figure #fig-empty: no drawn data' \
  'FAIL: console error: fixture: deliberate console error' \
  'FAIL: network request: http://example.com/x.png'; do
  grep -qF "report_check: $want" "$tmp/bad.err" || fail "bad.html: missing '$want'"
done
[ "$(wc -l <"$tmp/bad.err")" -eq 3 ] || fail "bad.html: expected exactly 3 problem lines"
if [ "$failed" -ne 0 ]; then
  echo "--- report_check.js stderr on bad.html:" >&2
  cat "$tmp/bad.err" >&2
  exit 1
fi
echo "self_test: OK: good.html passes, bad.html fails on its 3 problems"
