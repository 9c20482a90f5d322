#!/usr/bin/env bash
# Make sure headless Chromium (Debian's chromium + chromium-driver) is installed for the
# dashboard's browser tests. Playwright drives this system binary; it never downloads a
# browser of its own. Without apt (or root) the browser tests skip and say why; under
# CI=true they fail instead, because CI must run them.
set -u
if command -v chromium >/dev/null 2>&1; then
  echo "ensure_chromium: $(command -v chromium) ready."
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null \
    && echo "ensure_chromium: installed $(command -v chromium)." && exit 0
  echo "ensure_chromium: apt-get could not install chromium; browser tests will skip." >&2
else
  echo "ensure_chromium: no chromium and no apt-get as root here; browser tests will skip."
fi
[ "${CI:-}" = "true" ] && echo "ensure_chromium: CI=true but no chromium" >&2
exit 0
