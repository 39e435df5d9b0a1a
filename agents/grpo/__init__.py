"""GRPO training on rlvr-gym environments, on TRL's GRPOTrainer.

- ``config.py``: TrainConfig (the CLI is generated from its fields) and the GRPOConfig built from it;
- ``data.py``: env specs, the dataset of prompts with each env's reward columns, and ``EnvReward`` (the env grades);
- ``run.py``: ``train(config)``: the run folder, held-out evaluation, checkpoints, resume, result;
- ``trainer.py``: RLVRGRPOTrainer (GRPOTrainer plus an accuracy metric and the curriculum hook);
- ``curriculum.py`` and ``gdro.py``: the curriculum base class and Prompt-/Rollout-GDRO;
- ``multi_turn.py``: rollouts of multi-turn envs (TemporalClue-Feedback-v0) through TRL's rollout_func;
- ``peft_presets.py``: the PEFT methods (LoRA, DoRA, PiSSA, ...);
- ``plots.py``: PNG plots of a run folder (reward, held-out accuracy, GDRO weights and allocations).

    from rlvr_gym.agents.grpo import TrainConfig, train
"""

from rlvr_gym.agents.grpo.config import TrainConfig
from rlvr_gym.agents.grpo.run import RunResult, train

__all__ = ["TrainConfig", "train", "RunResult"]
