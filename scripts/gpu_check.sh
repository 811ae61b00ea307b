#!/usr/bin/env bash
# The GPU check set, as one short command for a machine with a CUDA GPU and torch/jax installed:
#   bash scripts/gpu_check.sh [OUTDIR]
# Installs initspec (no deps) into a temp dir, runs the GPU tests, the GPU benchmarks and a GPU
# conformance run of torch and jax; logs and JSON land in OUTDIR (default ./gpu-out).
set -uo pipefail
OUTDIR="${1:-gpu-out}"
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
# A prebuilt wheel in .whl/ (pip wheel --no-deps -w .whl .) is used where the machine cannot build one.
WHEEL=$(ls .whl/initspec-*.whl 2>/dev/null | head -1)
python3 -m pip install -q --no-deps --no-build-isolation --no-index --target /tmp/initspec-site "${WHEEL:-.}" \
  || { echo "gpu_check: cannot install initspec"; exit 2; }
export PYTHONPATH=/tmp/initspec-site
cd /tmp  # import the installed package, not the source folders
python3 - <<'PY' 2>&1 | tee "$OLDPWD/$OUTDIR/env.txt"
import torch, jax, numpy, scipy
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
print("jax", jax.__version__, jax.devices())
print("numpy", numpy.__version__, "scipy", scipy.__version__)
PY
cd "$OLDPWD"
rc=0
timeout 300 python3 -m pytest -m gpu tests/backends/test_gpu.py -q -rs -p no:cacheprovider \
  --require-backend torch --require-backend jax 2>&1 | tee "$OUTDIR/pytest_gpu.txt"; rc=$((rc | PIPESTATUS[0]))
timeout 200 python3 -c "from initspec.cli import main; raise SystemExit(main())" bench --backends torch,jax --device gpu \
  --json "$OUTDIR/bench_gpu.json" 2>&1 | tee "$OUTDIR/bench_gpu.txt"
timeout 200 python3 -c "from initspec.cli import main; raise SystemExit(main())" conform --backends numpy,torch,jax \
  --device gpu --out "$OUTDIR/conform" --no-experiments 2>&1 | tail -40 | tee "$OUTDIR/conform_gpu.txt"
# portable stream: bit-identical words / <=2 ulp floats on the GPU vs the NumPy reference
timeout 150 python3 -c "from initspec.cli import main; raise SystemExit(main())" portable check --backends numpy,torch,jax \
  --device gpu --out "$OUTDIR/portable_gpu.json" 2>&1 | tail -30 | tee "$OUTDIR/portable_gpu.txt"
timeout 100 python3 -c "from initspec.cli import main; raise SystemExit(main())" portable bench --backends torch,jax \
  --device gpu 2>&1 | tail -20 | tee "$OUTDIR/portable_bench_gpu.txt"
timeout 100 python3 scripts/portable_gpu_diag.py 2>&1 | grep -v Warn | tail -20 | tee "$OUTDIR/portable_gpu_diag.txt"
exit $rc
