"""The rlvr-gym cache directory: prepared models (agents/lm/models.py) and the embedded diffusion LM
(envs/unmasking/dllm.py) live under it.

``$RLVR_GYM_CACHE``, else ``$XDG_CACHE_HOME/rlvr-gym``, else ``~/.cache/rlvr-gym``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """The user's rlvr-gym cache directory (not created here)."""
    if os.environ.get("RLVR_GYM_CACHE"):
        return Path(os.environ["RLVR_GYM_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "rlvr-gym"
    return Path.home() / ".cache" / "rlvr-gym"
