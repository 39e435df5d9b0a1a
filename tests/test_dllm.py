"""The diffusion-LM wrapper and the tiny model: tokenizer, batch layout invariance, logit conventions,
loading errors, the masked-diffusion loss, and pretrain -> save -> load round trip (a few steps)."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr_gym.envs.unmasking.dllm import (COMPLETE_MARKER, DiffusionLMNotFound, MaskedDiffusionLM,  # noqa: E402
                                align_shifted_logits, build_char_tokenizer, build_tiny_model)

SMALL = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)


def test_char_tokenizer_round_trip():
    tok = build_char_tokenizer()
    ids = tok("What is 12 + 3?")["input_ids"]
    assert ids[0] == tok.bos_token_id and len(ids) == 1 + len("What is 12 + 3?")
    assert tok.decode(ids, skip_special_tokens=True) == "What is 12 + 3?"
    assert tok.mask_token_id == 1 and tok.eos_token_id == 2 and len(tok) == 100


def test_decode_stops_at_eos_and_drops_masks(lm):
    tok = lm.tokenizer
    digits = tok("42", add_special_tokens=False)["input_ids"]
    assert lm.decode(digits + [tok.eos_token_id] + digits) == "42"
    assert lm.decode([digits[0], lm.mask_token_id, digits[1]]) == "42"


def test_a_row_does_not_depend_on_its_batch(lm):
    prompts = [lm.encode_prompt("1+2="), lm.encode_prompt("345+678=")]
    comp = np.full((2, 6), lm.mask_token_id)
    comp[1, 0] = lm.tokenizer.convert_tokens_to_ids("1")
    conf_b, tok_b = lm.predict(prompts, comp)
    for row in range(2):
        conf_1, tok_1 = lm.predict([prompts[row]], comp[row:row + 1])
        np.testing.assert_allclose(conf_b[row], conf_1[0], atol=1e-5)
        assert (tok_b[row] == tok_1[0]).all()
    assert conf_b.dtype == np.float32 and ((conf_b > 0) & (conf_b <= 1)).all()
    assert not np.isin(tok_b, lm.banned_token_ids).any()                 # never predicts [MASK]/[PAD]/[BOS]


def test_batch_layout_is_left_padded_with_positions_from_the_first_token(lm):
    ids, attention, positions = lm.batch_inputs([[3, 10], [3, 11, 12, 13]], np.full((2, 2), 1))
    assert ids[0].tolist() == [0, 0, 3, 10, 1, 1] and attention[0].tolist() == [0, 0, 1, 1, 1, 1]
    assert positions[0].tolist()[2:] == [0, 1, 2, 3] and positions[1].tolist() == [0, 1, 2, 3, 4, 5]


def test_dream_logits_are_shifted_right():
    logits = torch.arange(4.0).reshape(1, 4, 1)
    assert align_shifted_logits(logits).flatten().tolist() == [0.0, 0.0, 1.0, 2.0]


def test_loading_errors_are_clear(tmp_path, monkeypatch):
    with pytest.raises(DiffusionLMNotFound, match="no model directory"):
        MaskedDiffusionLM.from_pretrained(str(tmp_path / "nope"))
    with pytest.raises(DiffusionLMNotFound, match="config.json"):
        MaskedDiffusionLM.from_pretrained(tmp_path)
    monkeypatch.setenv("RLVR_GYM_CACHE", str(tmp_path))
    with pytest.raises(DiffusionLMNotFound, match="rlvr dllm pretrain"):
        MaskedDiffusionLM.from_pretrained(None)


def test_masked_diffusion_loss_counts_masked_positions_weighted_by_one_over_t():
    from rlvr_gym.agents.unmasking.dllm_pretrain import masked_diffusion_loss

    logits = torch.zeros(2, 3, 5)                      # uniform: CE = log 5 everywhere
    targets = torch.zeros(2, 3, dtype=torch.long)
    masked = torch.tensor([[True, False, False], [True, True, False]])
    t = torch.tensor([0.5, 1.0])
    expected = np.log(5) * (1 / 0.5 + 2 / 1.0) / 6
    assert masked_diffusion_loss(logits, targets, masked, t).item() == pytest.approx(expected, rel=1e-5)


def test_pretrain_save_load_round_trip(tmp_path):
    from rlvr_gym.agents.unmasking.dllm_pretrain import PretrainConfig, pretrain

    config = PretrainConfig(steps=3, batch_size=8, eval_every=3, eval_items=4, warmup=1, model=SMALL)
    out = pretrain(config, out=tmp_path / "tiny-dllm", log=None)
    meta = json.loads((out / COMPLETE_MARKER).read_text())
    assert meta["history"][-1]["step"] == 3 and meta["config"]["steps"] == 3
    assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()
    loaded = MaskedDiffusionLM.from_pretrained(out)
    assert loaded.mask_token_id == 1 and not loaded.shift_logits
    assert loaded.decode(loaded.tokenizer("17", add_special_tokens=False)["input_ids"]) == "17"
    fresh, tokenizer = build_tiny_model(seed=0, **SMALL)
    prompts = [loaded.encode_prompt("12+30=")]
    comp = np.full((1, 5), loaded.mask_token_id)
    again = pretrain(config, out=tmp_path / "again", log=None)
    c1, t1 = loaded.predict(prompts, comp)
    c2, t2 = MaskedDiffusionLM.from_pretrained(again).predict(prompts, comp)
    np.testing.assert_allclose(c1, c2, atol=1e-6)                       # seeded: the same model twice
    c0, _ = MaskedDiffusionLM(fresh, tokenizer, mask_token_id=1).predict(prompts, comp)
    assert not np.allclose(c0, c1)                                      # and training changed it


# ---------------------------------------------------------------------------------------------- LLaDA / Dream
# Both ship their modelling code with the weights (trust_remote_code). A tiny stand-in with the same
# model_type and the same loading path (AutoConfig/AutoModel through auto_map) checks the conventions.

REMOTE_CONFIG = '''
from transformers import PretrainedConfig


class TinyRemoteConfig(PretrainedConfig):
    model_type = "llada"

    def __init__(self, vocab_size=100, hidden=4, **kwargs):
        self.vocab_size, self.hidden = vocab_size, hidden
        super().__init__(**kwargs)
'''

REMOTE_MODEL = '''
import torch
from transformers import PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput

from .configuration_tiny import TinyRemoteConfig


class TinyRemoteModel(PreTrainedModel):
    config_class = TinyRemoteConfig

    def __init__(self, config):
        super().__init__(config)
        self.emb = torch.nn.Embedding(config.vocab_size, config.hidden)
        self.out = torch.nn.Linear(config.hidden, config.vocab_size)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, **kwargs):
        return MaskedLMOutput(logits=self.out(self.emb(input_ids)))
'''


def _remote_model_dir(path, model_type, vocab_size):
    from safetensors.torch import save_file

    path.mkdir()
    (path / "configuration_tiny.py").write_text(REMOTE_CONFIG)
    (path / "modeling_tiny.py").write_text(REMOTE_MODEL)
    config = {"model_type": model_type, "vocab_size": vocab_size, "hidden": 4, "architectures": ["TinyRemoteModel"],
              "auto_map": {"AutoConfig": "configuration_tiny.TinyRemoteConfig",
                           "AutoModel": "modeling_tiny.TinyRemoteModel"}}
    (path / "config.json").write_text(json.dumps(config))
    gen = torch.Generator().manual_seed(0)
    save_file({"emb.weight": torch.randn(vocab_size, 4, generator=gen),
               "out.weight": torch.randn(vocab_size, 4, generator=gen), "out.bias": torch.zeros(vocab_size)},
              str(path / "model.safetensors"))
    build_char_tokenizer().save_pretrained(path)
    return path


def test_llada_style_backbone_loads_through_remote_code_with_its_mask_id(tmp_path):
    from rlvr_gym.envs.unmasking.dllm import LLADA_MASK_ID

    path = _remote_model_dir(tmp_path / "llada", "llada", vocab_size=LLADA_MASK_ID + 3)
    with pytest.raises(ValueError, match="trust_remote_code"):
        MaskedDiffusionLM.from_pretrained(path)
    lm = MaskedDiffusionLM.from_pretrained(path, trust_remote_code=True)
    assert lm.mask_token_id == LLADA_MASK_ID and not lm.shift_logits
    conf, tokens = lm.predict([lm.encode_prompt("ab=")], np.full((1, 4), LLADA_MASK_ID))
    assert conf.shape == (1, 4) and not (tokens == LLADA_MASK_ID).any()


def test_dream_style_backbone_gets_shifted_logits(tmp_path):
    path = _remote_model_dir(tmp_path / "dream", "Dream", vocab_size=100)
    lm = MaskedDiffusionLM.from_pretrained(path, trust_remote_code=True)
    assert lm.shift_logits and lm.mask_token_id == lm.tokenizer.mask_token_id
    ids = torch.tensor([[3, 20, 21, 1, 1]])
    raw = lm.model(input_ids=ids).logits
    aligned = lm.logits(ids, torch.ones_like(ids))
    assert torch.allclose(aligned[:, 1:], raw[:, :-1]) and torch.allclose(aligned[:, 0], raw[:, 0])
