"""The curriculum hook of the GRPO trainer: the no-op base class that the GDRO curricula (gdro.py) subclass.

RLVRGRPOTrainer (trainer.py) calls ``on_batch`` on every generation batch after TRL computed the advantages, logs
``metrics()`` each step, and saves ``state_dict()`` in every checkpoint (curriculum.json, restored on resume). A
curriculum may also set variable group sizes (``rollouts_for``) and bring its own trainer subclass as a
``trainer_class`` attribute (Rollout-GDRO does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["Curriculum"]


class Curriculum:
    """No-op base class of the curricula that plug into RLVRGRPOTrainer (agents/grpo/gdro.py subclasses it).

    on_batch gets the whole (all-process) generation batch after TRL computed the advantages: the dataset row
    index and group id of each completion, its reward, its advantage and its row's label; it returns the
    advantages to train on (one per completion)."""

    def on_batch(self, *, dataset_indices: list[int], group_ids: list[int], rewards: "torch.Tensor",
                 advantages: "torch.Tensor", labels: list[str], step: int) -> "torch.Tensor":
        return advantages

    def rollouts_for(self, dataset_indices: list[int], step: int) -> list[int] | None:
        """Optional: the number of rollouts for each prompt (variable group sizes); None keeps num_generations."""
        return None

    def metrics(self) -> dict[str, float]:
        """Scalars logged each step into metrics.jsonl (as curriculum/<name>; names starting with gdro/ appear
        bare too)."""
        return {}

    def state_dict(self) -> dict:
        """JSON-ready state, saved in every checkpoint (curriculum.json) and restored on --resume."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
