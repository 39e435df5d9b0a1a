"""RLVRGRPOTrainer: TRL's GRPOTrainer with an accuracy metric and the curriculum hook.

Built on first use (importing trl takes ~10 s): ``trainer_class()``, or ``from rlvr_gym.agents.grpo.trainer import
RLVRGRPOTrainer``. What it adds to GRPOTrainer:
- an ``accuracy`` metric: the share of completions with reward >= 1;
- the curriculum hook: ``Curriculum.on_batch`` sees the whole (all-process) generation batch after TRL computed
  the advantages and returns the advantages to train on; ``metrics()`` are logged as ``curriculum/<name>``.
Kept small so that curricula can subclass it (gdro.py's VariableGroupGRPOTrainer). The run around it (dataset,
rewards, callbacks, run folder) is run.py.
"""

from __future__ import annotations

from rlvr_gym.agents.grpo.curriculum import Curriculum

__all__ = ["trainer_class"]  # and RLVRGRPOTrainer, built on first access (module __getattr__)


def _grpo_trainer_class():
    from trl import GRPOTrainer

    class _RLVRGRPOTrainer(GRPOTrainer):
        """TRL's GRPOTrainer with: an accuracy metric (share of completions with reward >= 1), and the curriculum
        hook (``Curriculum.on_batch`` re-weights the advantages of each generation batch). Kept small so that
        agents/grpo/gdro.py can subclass it."""

        def __init__(self, *args, curriculum: Curriculum | None = None, **kwargs):
            self.curriculum = curriculum or Curriculum()
            self._last_rewards_per_func = None
            super().__init__(*args, **kwargs)

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._last_rewards_per_func = rewards_per_func        # all processes' completions, in order
            return rewards_per_func

        def _generate_and_score_completions(self, inputs):
            # Generation per prompt happens inside TRL (super() -> self._generate): one group of num_generations
            # completions per prompt. VARIABLE GROUP SIZES (Curriculum.rollouts_for) plug in here: a subclass can
            # override this method or _generate to ask the curriculum how many rollouts each prompt gets.
            output = super()._generate_and_score_completions(inputs)
            import torch
            from accelerate.utils import gather_object

            mode = "train" if self.model.training else "eval"
            rewards = torch.nansum(self._last_rewards_per_func * self.reward_weights.to(
                self._last_rewards_per_func.device).unsqueeze(0), dim=1)
            self._metrics[mode]["accuracy"].append((rewards >= 1.0 - 1e-6).float().mean().item())
            if mode != "train":
                return output
            indices = gather_object([int(x["index"]) for x in inputs])
            labels = gather_object([str(x.get("label", "")) for x in inputs])
            local = output["advantages"]
            advantages = self.accelerator.gather(local)
            group_size = self.num_generations
            group_ids = [i // group_size for i in range(len(indices))]
            new = self.curriculum.on_batch(dataset_indices=indices, group_ids=group_ids, rewards=rewards,
                                           advantages=advantages, labels=labels, step=int(self.state.global_step))
            if new is not advantages:
                new = torch.as_tensor(new, dtype=local.dtype, device=local.device)
                if new.shape != advantages.shape:
                    raise ValueError(f"curriculum.on_batch returned advantages of shape {tuple(new.shape)}, "
                                     f"expected {tuple(advantages.shape)}")
                start = self.accelerator.process_index * len(local)
                output["advantages"] = new[start:start + len(local)]
            for key, value in self.curriculum.metrics().items():
                self._metrics[mode][f"curriculum/{key}"].append(float(value))
            return output

    return _RLVRGRPOTrainer


_TRAINER_CLASS = None


def trainer_class():
    """RLVRGRPOTrainer, built on first use (importing trl takes ~10 s, so not at module import)."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is None:
        _TRAINER_CLASS = _grpo_trainer_class()
        _TRAINER_CLASS.__name__ = _TRAINER_CLASS.__qualname__ = "RLVRGRPOTrainer"
    return _TRAINER_CLASS


def __getattr__(name: str):
    # `from rlvr_gym.agents.grpo.trainer import RLVRGRPOTrainer` gives the real class (trl is imported then).
    if name == "RLVRGRPOTrainer":
        return trainer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
