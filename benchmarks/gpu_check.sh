#!/usr/bin/env bash
# GPU check of issue 16 (<= 8 minutes on one GPU): the CUDA cases of the test suite, then the
# memlearn rows of bench_aihwkit on `cuda` (the torch path: compiled kernels are CPU-only).
#
#   bash benchmarks/gpu_check.sh            # from the repository root, on a machine with a GPU
#
# Uses $PYTHON (default: .venv/bin/python if present, else python3) with torch (CUDA) and pytest
# installed; memlearn is taken from src/ (no install). Without ../shared/data the benchmark trains
# on random images (its speed figures hold, its accuracies mean nothing) and data tests skip.
# Writes its logs under ${OUT:-gpu-check}/.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
LOGS=${OUT:-gpu-check}
mkdir -p "$LOGS"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
status=0

"$PY" - <<'PYEOF' || exit 1
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))
PYEOF

# 1. The CUDA cases of the test suite (tests parametrised over devices include "cuda" when one is
#    visible): tiles, device contracts, declared-map writes and drawn counts. ~2-3 minutes.
timeout 240 "$PY" -m pytest -q -p no:cacheprovider -k cuda \
    tests/nn/test_tile.py tests/contracts/test_device_contracts.py \
    tests/devices/test_pulse_maps.py tests/periphery/test_drawn_counts.py 2>&1 | tee "$LOGS/pytest_cuda.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# 2. memlearn's rows of the aihwkit comparison on cuda: per-sample and batched (drawn) updates,
#    batch 10, 64 and 256, one seed, 2,500 images (1,875 training). ~3-4 minutes.
timeout 240 "$PY" benchmarks/bench_aihwkit.py --device cuda --memlearn-only --no-numba0 --seeds 1 \
    --batch 10,64,256 --n 2500 > "$LOGS/bench_aihwkit_cuda.jsonl" 2> "$LOGS/bench_aihwkit_cuda.err"
[ $? -eq 0 ] || status=1
cat "$LOGS/bench_aihwkit_cuda.jsonl"
exit $status
