#!/usr/bin/env bash
# Installs the PyTorch peer for bench/: Debian's python3-torch (1.13; PyPI is not reachable here) and a private
# OpenBLAS (the system libblas.so.3 alternative is left as it is; Debian defaults it to the slow reference BLAS).
# Idempotent: re-running it does nothing when both are present.
# Usage: sudo bench/setup-pytorch-peer.sh   (then run the peer with bench/run-pytorch-peer.sh or via the C# bench)
set -euo pipefail
PEER_DIR=${OPENBLAS_PEER_DIR:-/opt/openblas-peer}
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-torch
fi

if [ -z "$(find "$PEER_DIR" -name 'libblas.so.3' 2>/dev/null | head -n1)" ]; then
  tmp=$(mktemp -d) && chmod 777 "$tmp"  # apt-get download runs as _apt where it can
  (cd "$tmp" && apt-get download libopenblas0-pthread)
  $SUDO mkdir -p "$PEER_DIR"
  $SUDO dpkg-deb -x "$tmp"/libopenblas0-pthread_*.deb "$PEER_DIR"
  rm -rf "$tmp"
fi

blas=$(dirname "$(find "$PEER_DIR" -name 'libblas.so.3' | head -n1)")
echo "torch: $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
echo "OpenBLAS libblas.so.3 in: $blas"
echo "Run the peer with: LD_LIBRARY_PATH=$blas OPENBLAS_NUM_THREADS=N /usr/bin/python3 bench/pytorch_peer.py --threads N"
