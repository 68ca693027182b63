#!/usr/bin/env bash
# Smoke test of a PyInstaller build (build_installer.spec), as IT would get it:
#   scripts/smoke_frozen.sh dist/wacrm
# 1. `wacrm --version` answers;
# 2. `wacrm --demo` starts offscreen on a temporary data folder, quits by itself after 25 s, and
#    its log shows the embedded SecantusDB up (the frozen --embedded-mongo re-run works), the
#    history store online, and both demo tabs' injected bridge reporting the QR screen (the
#    JavaScript under resources/ ships inside the build and runs), and Qt's pt-BR catalogs
#    (qtbase_pt_BR.qm, qtwebengine_pt_BR.qm) loaded from the build's PySide6 folder;
# 3. `WACRM_LANGUAGE=en wacrm --help` is English (resources/i18n/en.json ships).
set -euo pipefail
dist="${1:-dist/wacrm}"
exe="$dist/wacrm"
[ -x "$exe" ] || exe="$dist/wacrm.exe"
[ -x "$exe" ] || { echo "smoke: no executable in $dist" >&2; exit 1; }

"$exe" --version
help_en="$(WACRM_LANGUAGE=en "$exe" --help)"
if ! grep -q "opens two profiles" <<<"$help_en"; then
  echo "smoke: --help is not in English with WACRM_LANGUAGE=en (resources/i18n missing?)" >&2
  exit 1
fi

data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" timeout 180 \
  "$exe" --demo --data-dir "$data" --quit-after 25000 >"$data/stdout.txt" 2>&1 || {
  echo "smoke: the app exited with an error" >&2
  tail -50 "$data/stdout.txt" >&2
  exit 1
}
log="$data/logs/wacrm.log"
fail=0
expect() {
  local count
  count=$(grep -c -- "$1" "$log" || true)
  if [ "$count" -lt "$2" ]; then
    echo "smoke: expected $2× '$1' in the log, found $count" >&2
    fail=1
  fi
}
expect "embedded MongoDB up" 1
expect "history store online" 1
expect "WhatsApp state: qr" 2
expect "Qt catalogs for pt_BR: qtbase_pt_BR.qm, qtwebengine_pt_BR.qm" 1
if grep -E "Traceback|ModuleNotFoundError|FileNotFoundError" "$log" >&2; then fail=1; fi
if [ "$fail" -ne 0 ]; then
  echo "--- log ---" >&2
  tail -80 "$log" >&2
  exit 1
fi
echo "smoke: OK ($exe)"
