#!/usr/bin/env bash
# The main job: GRPO + LoRA on the embedded SmolLM2-135M-Instruct, on single-digit arithmetic (Math-v0 level 0),
# on CPU, then held-out accuracy before and after training (the `rlvr eval` harness, greedy, 64 problems drawn
# with a different seed than the training problems). Budget: ~12-15 minutes on an idle 2-core machine.
#   bash scripts/main.sh                 # run folder runs/main (again: a finished run is shown, not retrained;
#                                        # a killed one resumes from its last checkpoint)
#   OUT=runs/main2 SEED=1 bash scripts/main.sh
#   bash scripts/main.sh --max-steps 40  # extra flags go to `rlvr train` (here: train a finished run further)
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
OUT=${OUT:-runs/main}
SEED=${SEED:-0}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
RESUME=()
[ -f "$OUT/config.yaml" ] && RESUME=(--resume)
rlvr train --config configs/main_cpu.yaml --out "$OUT" --seed "$SEED" "${RESUME[@]}" "$@"
python - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
before = json.loads((out / "eval_before.json").read_text())
after = json.loads((out / "eval_after.json").read_text())
n = sum(v["episodes"] for v in after["by_env"].values())
print(f"held-out accuracy ({n} problems): before {before['accuracy']:.1%} -> after {after['accuracy']:.1%} "
      f"({after['accuracy'] - before['accuracy']:+.1%}); mean reward {before['mean_reward']:.3f} -> "
      f"{after['mean_reward']:.3f}. Plots: {out}/reward.png {out}/heldout.png")
PY
