#!/usr/bin/env bash
# The GPU checks as one run on a lent CUDA machine (bench/README.md, "GPU check"):
# the two engines end to end on the tiny models in every memory mode (bench/gpu_engines.py),
# then the real-size architecture with random weights (bench/gpu_check.py).
# Wheels in .whl/ (diffusers, transformers, ... the versions this project pins) are installed
# into /tmp/site first when present, for a machine whose image lacks them. Results go to $OUT
# (default ./gpu-results). Each step has its own time limit, so one that hangs costs only itself.
set -uo pipefail
OUT=${OUT:-gpu-results}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/smi.txt"
$PY -c "import torch, diffusers, transformers; print('torch', torch.__version__, 'diffusers', diffusers.__version__,
'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tee "$OUT/versions.txt"
timeout "${ENGINES_S:-180}" $PY bench/gpu_engines.py --json-out "$OUT/gpu_engines.json" 2>&1 \
  | grep -v -E "^W[0-9]{4}|Writing model shards" | tee "$OUT/gpu_engines.log"
engines=$?
timeout "${CHECK_S:-360}" $PY bench/gpu_check.py --steps 3 --modes "${MODES:-full,model-offload,group-offload}" \
  --time-budget "${BUDGET_S:-240}" --json-out "$OUT/gpu_check.json" 2>&1 \
  | grep -v -E "^W[0-9]{4}" | tee "$OUT/gpu_check.log"
check=$?
echo "gpu_engines rc=$engines gpu_check rc=$check"
[ "$engines" = 0 ] && [ "$check" = 0 ]
