#!/usr/bin/env bash
# Throwaway RecBole 1.2.1 CPU baseline (BPR, LightGCN) on Taobao buy data, for comparison.
# Usage: scripts/recbole_bench.sh [--epochs N] [--models BPR,LightGCN] [--threads 2]
# Venv and converted data live under /tmp/recbole (override with RECBOLE_WORK); nothing in the repo.
set -euo pipefail
WORK=${RECBOLE_WORK:-/tmp/recbole}
VENV=$WORK/venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import recbole, torch" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  # CPU wheel if its index is reachable, else PyPI's (CUDA) build, which also runs on CPU.
  "$VENV/bin/pip" install -q torch==2.15.0 --index-url https://download.pytorch.org/whl/cpu \
    || "$VENV/bin/pip" install -q torch==2.15.0
  # recbole 1.2.1 needs numpy<2 (np.float_), scipy<1.12 (dok_matrix._update in LightGCN),
  # ray 2.6 needs pkg_resources (setuptools<81)
  "$VENV/bin/pip" install -q recbole==1.2.1 numpy==1.26.4 pandas==2.2.3 scipy==1.11.4 \
    scikit-learn==1.5.2 "setuptools==80.10.2"
fi
exec "$VENV/bin/python" "$(dirname "$0")/recbole_bench.py" --work "$WORK" "$@"
