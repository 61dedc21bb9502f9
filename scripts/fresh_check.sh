#!/usr/bin/env bash
# The fresh-machine check: runs the README's first command, as root, inside a minimal Debian
# bookworm root (mmdebstrap --variant=minbase) that holds nothing but the base system and a
# clean clone of HEAD, with /proc, /sys and /dev mounted as on a real machine.
#   bash scripts/fresh_check.sh
# Passes when the command exits 0, every `--out DIR` it names holds quant.json, summary.json
# and report.html, and it printed a quantized top-1. Exit codes: 0 pass, 1 fail, 77 skipped
# (the Debian package registry cannot be reached at all; said in one line).
#
# The minimal root is cached as a tarball (GAMMAQ_FRESH_CACHE, default
# /var/cache/gammaq-fresh): it holds only what mmdebstrap's minbase variant installs, never
# anything setup.sh installs, so each check still installs every package and npm module afresh.
# Each check unpacks it into a new folder under GAMMAQ_FRESH_TMP (default /var/tmp) and removes
# that folder and every mount it made, on success and on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

[ "$(id -u)" -eq 0 ] || { echo "fresh_check: needs root (chroot and mounts)" >&2; exit 1; }

cache="${GAMMAQ_FRESH_CACHE:-/var/cache/gammaq-fresh}"
tarball="$cache/bookworm-minbase.tar"
t_start=$(date +%s)
step_start=$t_start
step() {  # step NAME: closes the previous step with its time
  local now
  now=$(date +%s)
  [ -n "${step_name:-}" ] && printf 'fresh_check: %-28s %5d s\n' "$step_name" $((now - step_start)) >&2
  step_name="$1"
  step_start=$now
}
retry() {  # retry N CMD...: up to N tries, 10 s apart
  local n="$1" i
  shift
  for ((i = 1; i <= n; i++)); do
    "$@" && return 0
    ((i < n)) && { echo "fresh_check: try $i of $n failed: $*" >&2; sleep 10; }
  done
  return 1
}

# The Debian mirror lines this machine uses (deb822 or one-line sources), for the new root.
sources_lines() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && grep -E '^\s*deb\s' "$f" | grep -E 'debian' || true
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN{RS="";FS="\n"}
      { types="";uris="";suites="";comps="";
        for(i=1;i<=NF;i++){ if($i ~ /^#/) continue; split($i,kv,": ");
          if(kv[1]=="Types")types=kv[2]; if(kv[1]=="URIs")uris=kv[2];
          if(kv[1]=="Suites")suites=kv[2]; if(kv[1]=="Components")comps=kv[2]; }
        if(types ~ /(^| )deb( |$)/ && uris ~ /debian/){ n=split(suites,s," ");
          for(j=1;j<=n;j++) print "deb " uris " " s[j] " " comps } }' "$f"
  done
}

step "host tools"
if ! command -v mmdebstrap >/dev/null 2>&1; then
  if ! retry 3 bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null'; then
    echo "fresh_check: skipped: the Debian package registry cannot be reached (apt-get install mmdebstrap failed 3 times)" >&2
    exit 77
  fi
fi

step "minimal root (mmdebstrap)"
mapfile -t mirrors < <(sources_lines | sort -u)
if [ ! -f "$tarball" ] || [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  if ! retry 3 mmdebstrap --quiet --variant=minbase --mode=root --format=tar bookworm "$tarball.part" \
      "${mirrors[@]}"; then
    rm -f "$tarball.part"
    echo "fresh_check: skipped: the Debian package registry cannot be reached (mmdebstrap failed 3 times)" >&2
    exit 77
  fi
  mv "$tarball.part" "$tarball"
fi

root="$(mktemp -d "${GAMMAQ_FRESH_TMP:-/var/tmp}/gammaq-fresh.XXXXXX")"
mounts=()
cleanup() {
  local rc=$? m i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m="${mounts[i]}"
    umount -R "$m" 2>/dev/null || umount -lR "$m" 2>/dev/null || true
  done
  if [ -n "${root:-}" ] && [ -d "$root" ]; then
    if findmnt -rn -o TARGET | grep -q "^$root"; then
      echo "fresh_check: mounts left under $root; not removing it" >&2
      rc=1
    else
      rm -rf --one-file-system "$root"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "unpack root"
tar -C "$root" -xf "$tarball"
printf '%s\n' "${mirrors[@]}" >"$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# npm's registry and certificate settings, as this machine has them (no packages).
for f in /root/.npmrc /usr/etc/npmrc /etc/npmrc; do
  if [ -f "$f" ]; then
    mkdir -p "$root$(dirname "$f")"
    grep -vE '^\s*(nodedir|cafile)\s*=' "$f" >"$root$f" || true
  fi
done

step "clean clone of HEAD"
git clone -q --no-local "$repo" "$root/root/gammaq"
git -C "$root/root/gammaq" log -1 --format='fresh_check: HEAD %h %s' >&2

for m in proc sys dev dev/pts; do mkdir -p "$root/$m"; done
mount -t proc proc "$root/proc" && mounts+=("$root/proc")
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" && mounts+=("$root/sys")
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" && mounts+=("$root/dev")

# The README's first command: the first line of its first ```sh block.
cmd="$(awk '/^```sh/{f=1;next} f&&/^```/{exit} f{print;exit}' "$repo/README.md")"
[ -n "$cmd" ] || { echo "fresh_check: README.md has no \`\`\`sh block" >&2; exit 1; }
echo "fresh_check: running the README's first command in the fresh root:" >&2
echo "  $cmd" >&2

step "README first command"
log="$root/root/first_command.log"
set +e
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM=dumb bash -c "cd /root/gammaq && $cmd" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
step "outputs"
if [ "$rc" -ne 0 ]; then
  echo "fresh_check: FAIL: the README's first command exited $rc in the fresh root" >&2
  exit 1
fi
fail=0
# The clone is clean, so every folder holding a quant.json or summary.json was written by the
# command; each must hold all three files.
tree="$root/root/gammaq"
mapfile -t outs < <(git -C "$tree" ls-files --others --ignored --exclude-standard \
  | grep -E '(^|/)(quant|summary)\.json$' | grep -v '^build/' | xargs -r -n1 dirname | sort -u)
for d in "${outs[@]}"; do
  for f in quant.json summary.json report.html; do
    if [ ! -s "$tree/$d/$f" ]; then
      echo "fresh_check: FAIL: $d/$f is missing" >&2
      fail=1
    fi
  done
  echo "fresh_check: $d holds quant.json, summary.json, report.html" >&2
  found=1
done
[ -n "${found:-}" ] || { echo "fresh_check: FAIL: no output folder was written" >&2; fail=1; }
if ! grep -qE 'quantized top-1 [0-9]' "$log"; then
  echo "fresh_check: FAIL: no quantized top-1 was printed" >&2
  fail=1
fi
step ""
printf 'fresh_check: %-28s %5d s\n' "total" $(($(date +%s) - t_start)) >&2
((fail == 0)) || exit 1
echo "fresh_check: PASS" >&2
