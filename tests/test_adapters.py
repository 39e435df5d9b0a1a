"""Trained adapters load everywhere a model path is accepted: ``load_model`` (the one loader), ``hf:`` agents and
``rlvr eval``, ``rlvr serve``, ``rlvr train --model`` (which continues the adapter); merged on request; the base
model read from the adapter's config, also when the adapter was made on another machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory):
    """A LoRA adapter on tiny-random with non-zero weights (so it changes the model), saved as TRL saves final/."""
    from rlvr_gym.agents.lm.models import load_model

    base, tokenizer, _ = load_model("tiny-random")
    torch.manual_seed(0)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False,
                             task_type="CAUSAL_LM")
    model = peft.get_peft_model(base, config)
    out = tmp_path_factory.mktemp("adapter") / "final"
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    assert not (out / "config.json").exists()      # what made `rlvr eval --agent hf:runs/main/final` fail
    return out


def _logits(model, tokenizer, text="What is 2 + 3?"):
    ids = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits


def test_load_model_puts_the_adapter_on_its_base_or_merges_it(adapter_dir):
    from rlvr_gym.agents.lm.models import adapter_ref, load_model, model_dir

    ref = adapter_ref(adapter_dir)
    assert ref is not None and ref.peft_type.lower() == "lora" and ref.base == str(model_dir("tiny-random"))
    base, tokenizer, _ = load_model("tiny-random")
    adapted, tokenizer2, path = load_model(adapter_dir)
    merged, _, _ = load_model(adapter_dir, merge=True)
    assert path == adapter_dir and isinstance(adapted, peft.PeftModel) and not isinstance(merged, peft.PeftModel)
    plain, with_adapter = _logits(base, tokenizer), _logits(adapted, tokenizer2)
    assert not torch.allclose(plain, with_adapter, atol=1e-4)             # the adapter is really applied
    assert torch.allclose(_logits(merged, tokenizer2), with_adapter, atol=1e-4)
    assert not any(p.requires_grad for p in adapted.parameters())
    trainable, _, _ = load_model(adapter_dir, trainable=True)
    assert any(p.requires_grad for n, p in trainable.named_parameters() if "lora_" in n)


def test_an_adapter_from_another_machine_finds_an_alias_base(adapter_dir, tmp_path):
    import shutil

    from rlvr_gym.agents.lm.models import adapter_ref

    moved = tmp_path / "moved"
    shutil.copytree(adapter_dir, moved)
    config = json.loads((moved / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "/home/someone/.cache/rlvr-gym/models/tiny-random"
    (moved / "adapter_config.json").write_text(json.dumps(config))
    assert adapter_ref(moved).base == "tiny-random"
    config["base_model_name_or_path"] = "/data/hf/hub/models--HuggingFaceTB--SmolLM2-135M/snapshots/abc123"
    (moved / "adapter_config.json").write_text(json.dumps(config))
    assert adapter_ref(moved).base == "HuggingFaceTB/SmolLM2-135M"
    del config["base_model_name_or_path"]
    (moved / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="does not name its base model"):
        adapter_ref(moved)


def test_resolve_model_explains_an_adapter_and_merge_writes_full_weights(adapter_dir, tmp_path):
    from rlvr_gym.agents.lm.models import main, resolve_model

    with pytest.raises(ValueError, match="PEFT adapter .*rlvr eval .*merge"):
        resolve_model(adapter_dir)
    out = tmp_path / "merged"
    assert main(["merge", str(adapter_dir), str(out)]) == 0
    assert resolve_model(out) == out and (out / "config.json").is_file()


def test_hf_agent_and_server_answer_with_the_adapter(adapter_dir):
    from rlvr_gym.agents.base import load_agent
    from rlvr_gym.agents.serving.openai_server import start_server

    prompts = ["What is 2 + 3?", "Name a colour."]
    adapted = load_agent(f"hf:{adapter_dir}", max_tokens=6, temperature=0.0)
    merged = load_agent(f"hf:{adapter_dir}?merge=true", max_tokens=6, temperature=0.0)
    base = load_agent("hf:tiny-random", max_tokens=6, temperature=0.0)
    texts = adapted.act_batch(prompts)
    assert texts == merged.act_batch(prompts) and texts != base.act_batch(prompts)
    with pytest.raises(ValueError, match="merge"):
        load_agent(f"hf:{adapter_dir}?merge=3")
    server = start_server(str(adapter_dir), port=0, max_tokens=6, served_name="mine")
    try:
        client = load_agent(f"openai:mine@{server.url}", max_tokens=6, temperature=0.0)
        assert client.act_batch(prompts) == texts
    finally:
        server.close()


def test_rlvr_eval_takes_an_adapter_folder(adapter_dir):
    env = {**os.environ, "COLUMNS": "120"}
    result = subprocess.run([sys.executable, "-m", "rlvr_gym.cli.main", "eval", "Math-Easy-v0", "--agent",
                             f"hf:{adapter_dir}?max_tokens=4", "-n", "2", "--json"], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["episodes"] == 2
    assert "Loading weights" not in result.stderr and "torch_dtype" not in result.stderr


def test_train_continues_an_adapter(adapter_dir, tmp_path):
    from rlvr_gym.agents.grpo import TrainConfig, train

    result = train(TrainConfig(env=["Math-Easy-v0"], model=str(adapter_dir), out=str(tmp_path / "run"), lora_r=8,
                               train_size=4, eval_size=0, max_completion_length=4, per_device_train_batch_size=4,
                               num_generations=2, max_steps=1, save_steps=1, progress=False, plots=False))
    assert any("continuing the lora adapter" in note for note in result.notes)
    saved = json.loads((tmp_path / "run" / "final" / "adapter_config.json").read_text())
    assert saved["r"] == 4 and saved["base_model_name_or_path"].endswith("tiny-random")   # the same adapter


def test_an_adapter_can_be_the_pretraining_teacher(adapter_dir):
    from rlvr_gym.agents.lm.models import load_model
    from rlvr_gym.agents.pretrain.trainer import load_teacher

    teacher = load_teacher(str(adapter_dir))
    merged, tokenizer, _ = load_model(adapter_dir, merge=True)
    assert not isinstance(teacher, peft.PeftModel) and not any(p.requires_grad for p in teacher.parameters())
    assert torch.allclose(_logits(teacher, tokenizer), _logits(merged, tokenizer), atol=1e-5)
