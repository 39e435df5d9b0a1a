"""Fixtures shared by the test files: the read-only reference material in ../shared.

The package never needs ../shared; tests that read it request one of these fixtures and are skipped cleanly
where it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _dir_or_skip(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(f"reference data not present at {path}")
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared (the reference material), or skip."""
    return _dir_or_skip(SHARED)


@pytest.fixture(scope="session")
def tc_data() -> Path:
    """../shared/data/temporal_clue (the original Temporal Clue release), or skip."""
    return _dir_or_skip(SHARED / "data" / "temporal_clue")


@pytest.fixture(scope="session")
def tc_val_file() -> Path:
    """../shared/data/temporal_clue/val.json, or skip."""
    path = SHARED / "data" / "temporal_clue" / "val.json"
    if not path.is_file():
        pytest.skip(f"original val.json not present at {path}")
    return path


@pytest.fixture(scope="session")
def tc_records(tc_data: Path) -> Callable[[str], list[dict]]:
    """``tc_records("val")``: the records of one split of the original release, read afresh on every call."""

    def read(name: str) -> list[dict]:
        return json.loads((tc_data / f"{name}.json").read_text(encoding="utf-8"))

    return read


@pytest.fixture(scope="session")
def math_data() -> Path:
    """../shared/data/math (the math reference sets), or skip."""
    return _dir_or_skip(SHARED / "data" / "math")


# The tiny masked-diffusion LM of the dLLM / Unmasking tests (random weights).
TINY_DLM = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


@pytest.fixture(scope="module")
def lm():
    """A tiny masked-diffusion LM (seed 0, one torch thread), built once per test module; skips without
    torch/transformers."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from rlvr_gym.envs.unmasking.dllm import MaskedDiffusionLM, build_tiny_model

    torch.set_num_threads(1)
    model, tokenizer = build_tiny_model(seed=0, **TINY_DLM)
    return MaskedDiffusionLM(model, tokenizer, mask_token_id=tokenizer.mask_token_id, name="test-tiny")


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the test (small models run many times slower with 2 on these machines), then
    the caller's thread count restored."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def vllm_model_dir() -> Path:
    """The embedded model's folder for the real-vLLM tests; skips where the vLLM environment (.venv-vllm or
    $RLVR_VLLM_PYTHON) or the prepared model is absent."""
    from rlvr_gym.agents.lm.models import EMBEDDED, is_prepared, model_dir
    from rlvr_gym.agents.serving.vllm_server import vllm_missing_reason

    reason = vllm_missing_reason()
    if reason:
        pytest.skip(f"vLLM environment absent: {reason}")
    if not is_prepared(EMBEDDED):
        pytest.skip(f"the embedded model is not prepared: python -m rlvr_gym.agents.lm.models prepare {EMBEDDED}")
    return model_dir(EMBEDDED)


@pytest.fixture(scope="module")
def vllm_server(vllm_model_dir, tmp_path_factory):
    """Stock vLLM's server for one test module: the embedded model served as its alias, fp32, runtime LoRA loading
    (rank <= 16, two adapters at once), a 1 GiB KV cache."""
    from rlvr_gym.agents.lm.models import EMBEDDED
    from rlvr_gym.agents.serving.vllm_server import VLLMServer, VLLMServerConfig

    log = tmp_path_factory.mktemp("vllm") / "server.log"
    config = VLLMServerConfig(model=str(vllm_model_dir), served_name=EMBEDDED, dtype="float32", max_lora_rank=16,
                              max_loras=2, kv_cache_gib=1.0, max_model_len=1024)
    with VLLMServer(config, log_file=log, startup_timeout_s=400) as srv:
        yield srv
