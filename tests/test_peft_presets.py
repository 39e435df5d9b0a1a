"""PEFT presets (agents/grpo/peft_presets.py) on the tiny model: every preset builds and trains something, the traps
(lm_head, PiSSA/MiLoRA with a KL reference) are handled, MiLoRA keeps the function at init, LoRA-FA freezes A,
LoRA+ gives B a larger learning rate, and AdaLoRA's reallocation is called on every optimizer step of a TRL run."""

from __future__ import annotations

import pytest

from rlvr_gym.agents.grpo.peft_presets import PRESETS, prepare_peft, trainable_parameters


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _tiny():
    from rlvr_gym.agents.lm.models import load_model

    model, tokenizer, _ = load_model("tiny-random", "cpu")
    return model, tokenizer


def _wrapped(setup):
    import peft

    if setup.peft_config is None:
        return setup.model
    return peft.get_peft_model(setup.model, setup.peft_config)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_builds_and_gets_gradients(name):
    import torch

    model, _ = _tiny()
    setup = prepare_peft(model, name, r=4, total_steps=10, learning_rate=1e-3)
    wrapped = _wrapped(setup)
    trainable, total = trainable_parameters(wrapped)
    assert 0 < trainable <= total
    if name != "full":
        assert trainable < total / 2
        assert not any(p.requires_grad for n, p in wrapped.named_parameters() if "lm_head" in n or "embed_tokens" in n)
    ids = torch.tensor([[1, 5, 9, 14, 3]])
    loss = wrapped(input_ids=ids, labels=ids).loss
    loss.backward()
    grads = [p.grad for p in wrapped.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_unknown_preset_and_lm_head_target_are_refused():
    model, _ = _tiny()
    with pytest.raises(ValueError, match="unknown PEFT preset"):
        prepare_peft(model, "qlora")
    with pytest.raises(ValueError, match="lm_head"):
        prepare_peft(model, "lora", target_modules=["q_proj", "lm_head"])
    with pytest.raises(ValueError, match="rank"):
        prepare_peft(model, "lora", r=0)


@pytest.mark.parametrize("name", ["pissa", "milora"])
def test_residual_inits_force_beta_zero(name):
    model, _ = _tiny()
    setup = prepare_peft(model, name, r=4, beta=0.04)
    assert setup.beta == 0.0 and any("beta" in note for note in setup.notes)
    assert prepare_peft(_tiny()[0], "lora", r=4, beta=0.04).beta == 0.04


@pytest.mark.parametrize("name", ["pissa", "milora"])
def test_residual_inits_train_mode_is_the_same_function(name):
    import torch

    model, _ = _tiny()
    ids = torch.tensor([[1, 5, 9, 14, 3, 7, 2]])
    with torch.no_grad():
        reference = model(input_ids=ids).logits
    setup = prepare_peft(model, name, r=4, dropout=0.3)
    assert any("dropout" in note for note in setup.notes)
    wrapped = setup.model if setup.peft_config is None else __import__("peft").get_peft_model(model, setup.peft_config)
    wrapped.train()                       # TRL samples and scores in training mode: no dropout on W's own part
    with torch.no_grad():
        trained_mode = wrapped(input_ids=ids).logits
    assert torch.allclose(trained_mode, reference, atol=1e-3)
    assert not any("dropout" in n for n in prepare_peft(_tiny()[0], "lora", r=4, dropout=0.3).notes)


def test_milora_keeps_the_function_and_uses_minor_components():
    import torch

    model, _ = _tiny()
    ids = torch.tensor([[1, 5, 9, 14, 3, 7]])
    with torch.no_grad():
        before = model(input_ids=ids).logits.clone()
        original = model.model.layers[0].self_attn.q_proj.weight.clone()
    setup = prepare_peft(model, "milora", r=4)
    wrapped = setup.model.eval()         # get_peft_model leaves it in training mode (LoRA dropout)
    with torch.no_grad():
        after = wrapped(input_ids=ids).logits
    assert torch.allclose(before, after, atol=1e-4)
    layer = wrapped.base_model.model.model.layers[0].self_attn.q_proj
    residual = layer.get_base_layer().weight
    s_orig = torch.linalg.svdvals(original)
    s_res = torch.linalg.svdvals(residual)
    # the principal spectrum stays in the base weight; the 4 smallest singular values moved to the adapter
    assert torch.allclose(s_res[:4], s_orig[:4], rtol=1e-4)
    delta = layer.scaling["default"] * (layer.lora_B["default"].weight @ layer.lora_A["default"].weight)
    assert torch.allclose(torch.linalg.svdvals(delta)[:4], s_orig[-4:], rtol=1e-3, atol=1e-5)


def test_lora_fa_trains_only_b():
    import torch

    model, _ = _tiny()
    wrapped = prepare_peft(model, "lora-fa", r=4).model
    a_before = {n: p.clone() for n, p in wrapped.named_parameters() if ".lora_A." in n}
    assert a_before and not any(p.requires_grad for n, p in wrapped.named_parameters() if ".lora_A." in n)
    optimizer = torch.optim.AdamW([p for p in wrapped.parameters() if p.requires_grad], lr=1e-2)
    ids = torch.tensor([[1, 5, 9, 14, 3]])
    wrapped(input_ids=ids, labels=ids).loss.backward()
    optimizer.step()
    for n, p in wrapped.named_parameters():
        if ".lora_A." in n:
            assert torch.equal(p, a_before[n])
    assert any(p.abs().sum() > 0 for n, p in wrapped.named_parameters() if ".lora_B." in n)


def test_loraplus_optimizer_gives_b_a_larger_learning_rate():
    model, _ = _tiny()
    setup = prepare_peft(model, "loraplus", r=4, learning_rate=1e-4, extra={"loraplus_lr_ratio": 4})
    optimizer = setup.optimizer_factory(setup.model)
    rates = sorted({group["lr"] for group in optimizer.param_groups if group["params"]})
    assert 1e-4 in rates and 4e-4 in rates


def test_adalora_reallocates_each_optimizer_step_in_a_trl_run(tmp_path):
    from rlvr_gym.agents.grpo import TrainConfig, train

    calls = []

    from transformers import TrainerCallback

    class Spy(TrainerCallback):
        def on_optimizer_step(self, args, state, control, model=None, **kwargs):
            calls.append(model.base_model.rankallocator is not None)

    config = TrainConfig(env=["Math-Easy-v0"], model="tiny-random", peft="adalora", lora_r=4, train_size=4,
                         eval_size=0, max_completion_length=6, per_device_train_batch_size=4, num_generations=2,
                         max_steps=2, save_steps=10, progress=False, plots=False, out=str(tmp_path / "ada"))
    result = train(config, extra_callbacks=[Spy()])
    assert result.steps == 2 and calls == [True, True]
    assert any("update_and_allocate" in note for note in result.notes)
