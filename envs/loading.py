"""Loading Hugging Face weights without the noise: ``quiet_loading()`` hides transformers' per-load progress bars
("Loading weights", "Writing model shards") and the deprecation messages a load made by this package triggers and a
user can do nothing about, and nothing else. Used by the one causal-LM loader (agents/lm/models.py) and the diffusion
LM behind Unmasking-v0 (envs/unmasking/dllm.py). transformers is imported when the context is entered.
"""

from __future__ import annotations

import contextlib
import logging
import re

__all__ = ["quiet_loading", "LOAD_NOISE"]

# Messages of transformers that a load through this package makes and a user can do nothing about.
LOAD_NOISE = ("`torch_dtype` is deprecated", "`is_gradient_checkpointing` is deprecated")


class _DropMessages(logging.Filter):
    def __init__(self, fragments: tuple[str, ...]):
        super().__init__()
        self.fragments = fragments

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(fragment in message for fragment in self.fragments)


@contextlib.contextmanager
def quiet_loading():
    """Within: no "Loading weights" / "Writing model shards" progress bars and none of ``LOAD_NOISE`` (log
    records or warnings); every other warning of transformers still shows. The previous progress-bar setting is
    restored after."""
    import warnings

    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    drop = _DropMessages(LOAD_NOISE)
    root = logging.getLogger("transformers")
    targets = [root, *root.handlers]
    for target in targets:
        target.addFilter(drop)
    try:
        with warnings.catch_warnings():
            for fragment in LOAD_NOISE:
                warnings.filterwarnings("ignore", message=f".*{re.escape(fragment)}")
            yield
    finally:
        for target in targets:
            target.removeFilter(drop)
        if bars_were_on:
            hf_logging.enable_progress_bar()
