#!/usr/bin/env bash
# Install the data sets hpo reads from OS packages: Debian's dataset-fashion-mnist puts
# the four Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist/ (30 MB).
# Guarded: machines without apt (or without root) skip with a note, and the tests that
# need the files skip there; under CI=true those tests require them, so a failure here
# is reported as an error.
set -u
DIR=/usr/share/datasets/fashion-mnist
if [ -f "$DIR/train-images-idx3-ubyte.gz" ]; then
  echo "ensure_datasets: Fashion-MNIST present in $DIR."
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_datasets: no apt-get here; put the Fashion-MNIST IDX files in \$HPO_DATA/fashion-mnist to use them."
  [ "${CI:-}" = "true" ] && { echo "ensure_datasets: CI=true but cannot install dataset-fashion-mnist" >&2; exit 1; }
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure_datasets: not root and no passwordless sudo; run: sudo apt-get install dataset-fashion-mnist"
    [ "${CI:-}" = "true" ] && exit 1
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null \
  && $SUDO apt-get install -y -q --no-install-recommends dataset-fashion-mnist >/dev/null \
  && echo "ensure_datasets: installed dataset-fashion-mnist into $DIR." \
  || { echo "ensure_datasets: apt-get could not install dataset-fashion-mnist." >&2; [ "${CI:-}" = "true" ] && exit 1; }
exit 0
