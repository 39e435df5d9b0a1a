"""Masked diffusion language models as the frozen backbone of ``Unmasking-v0``.

``MaskedDiffusionLM`` wraps a model and its tokenizer behind the one call the environment needs:
``predict(prompts, completions)``, ONE forward pass over a batch of (prompt, partially masked completion)
rows that returns, per completion position, the top-1 probability (the confidence) and the top-1 token.

Backbones (``MaskedDiffusionLM.from_pretrained(name_or_path)``):
- ``None`` / ``"tiny-dllm"``: the embedded tiny diffusion LM that ``rlvr dllm pretrain`` trains and saves in
  Hugging Face format under ``<cache>/models/tiny-dllm`` (cache root: ``$RLVR_GYM_CACHE``, else
  ``$XDG_CACHE_HOME/rlvr-gym``, else ``~/.cache/rlvr-gym``). Where it is missing, ``DiffusionLMNotFound``
  says how to make it.
- any local directory (or hub name in the local Hugging Face cache) of an ``AutoModelForMaskedLM``
  (BERT, RoBERTa, ModernBERT, ...): mask token = ``tokenizer.mask_token_id``, logits at position i predict
  token i.
- LLaDA (config ``model_type`` "llada"): ``AutoModel`` with ``trust_remote_code=True``; mask token id 126336
  (or the config's ``mask_token_id``); logits at position i predict token i.
- Dream (``model_type`` "Dream"): ``AutoModel`` with ``trust_remote_code=True``; mask token from the
  tokenizer; Dream is trained like an autoregressive model, so the logits at position i predict token i+1:
  they are shifted right by one (position 0 keeps its own) before use.
The mask token (and padding/BOS tokens) are never predicted: their logits are set to -inf.

Layout of a forward: each row is ``[pad ... pad][prompt tokens][completion (L)]``, prompts left-padded to
the longest in the batch, with an attention mask that hides the padding and position ids that start at the
first real token, so a row's result does not depend on which other rows share the batch.

Heavy imports (torch, transformers, tokenizers) happen inside functions only.
"""

from __future__ import annotations

import inspect
import os
import string
from pathlib import Path
from typing import Any, Sequence

from rlvr_gym.envs.cache import cache_root
from rlvr_gym.envs.loading import quiet_loading

__all__ = [
    "MaskedDiffusionLM",
    "DiffusionLMNotFound",
    "DEFAULT_MODEL",
    "default_model_dir",
    "build_char_tokenizer",
    "tiny_config",
    "build_tiny_model",
    "LLADA_MASK_ID",
]

DEFAULT_MODEL = "tiny-dllm"
LLADA_MASK_ID = 126336
SPECIAL_TOKENS = ("[PAD]", "[MASK]", "[EOS]", "[BOS]", "[UNK]")
# Printable ASCII without tabs and newlines: prompts of the synthetic tasks and the Math env's level-1
# questions fit; anything else becomes [UNK].
CHARS = tuple(c for c in string.printable if c not in "\t\n\r\x0b\x0c")
COMPLETE_MARKER = "rlvr_gym_dllm.json"  # written last by `rlvr dllm pretrain`: the directory is complete


class DiffusionLMNotFound(FileNotFoundError):
    """The requested diffusion LM is not on disk; the message says how to get it."""


def default_model_dir() -> Path:
    """Where ``rlvr dllm pretrain`` saves the embedded tiny diffusion LM."""
    return cache_root() / "models" / DEFAULT_MODEL


def build_char_tokenizer():
    """A character-level ``PreTrainedTokenizerFast``: 5 special tokens + 95 printable characters.

    ``tokenizer(text)`` gives ``[BOS] c1 c2 ...``; ``decode`` joins characters without spaces."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + CHARS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    core.post_processor = processors.TemplateProcessing(single="[BOS] $A", special_tokens=[("[BOS]", vocab["[BOS]"])])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="[PAD]", mask_token="[MASK]", eos_token="[EOS]",
                                   bos_token="[BOS]", unk_token="[UNK]", padding_side="left")


def tiny_config(vocab_size: int = len(SPECIAL_TOKENS) + len(CHARS), **overrides: Any):
    """The embedded model's shape: a 3-layer, 64-wide bidirectional BERT encoder with an MLM head (~0.17M
    parameters): sized so that `rlvr dllm pretrain` takes minutes on one CPU thread and a forward over 64
    rows of ~20 tokens takes ~15 ms."""
    from transformers import BertConfig

    cfg = dict(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
               intermediate_size=256, max_position_embeddings=64, type_vocab_size=1, pad_token_id=0,
               hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, tie_word_embeddings=True)
    cfg.update(overrides)
    return BertConfig(**cfg)


def build_tiny_model(seed: int = 0, **overrides: Any):
    """A freshly initialised tiny diffusion LM (BertForMaskedLM) and the character tokenizer."""
    import torch
    from transformers import BertForMaskedLM

    tokenizer = build_char_tokenizer()
    torch.manual_seed(seed)
    model = BertForMaskedLM(tiny_config(vocab_size=len(tokenizer), **overrides))
    return model, tokenizer


def _accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


class MaskedDiffusionLM:
    """A frozen masked diffusion LM + tokenizer with the conventions of its family (see module docstring).

    model: a torch module returning ``.logits`` [B, T, V] (or a tuple whose first item is the logits);
    mask_token_id: the id of the mask token; shift_logits: True where logits at i predict token i+1 (Dream);
    eos_token_id: end of the completion (decoded text stops there); chat_template: wrap prompts in the
    tokenizer's chat template (instruction-tuned LLaDA/Dream)."""

    def __init__(self, model, tokenizer, *, mask_token_id: int, shift_logits: bool = False,
                 eos_token_id: int | None = None, chat_template: bool = False, name: str = "model",
                 device: str = "cpu"):
        import torch

        if mask_token_id is None:
            raise ValueError("the diffusion LM needs a mask token id (the tokenizer has none; pass mask_token_id=)")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.mask_token_id = int(mask_token_id)
        self.shift_logits = bool(shift_logits)
        self.eos_token_id = eos_token_id if eos_token_id is not None else getattr(tokenizer, "eos_token_id", None)
        self.pad_token_id = getattr(tokenizer, "pad_token_id", None)
        if self.pad_token_id is None:
            self.pad_token_id = self.eos_token_id if self.eos_token_id is not None else 0
        self.chat_template = chat_template
        self.name = name
        self.meta: dict = {}
        self.device = torch.device(device)
        self.model.to(self.device)
        self.vocab_size = None  # known after the first forward
        self._use_attention_mask = _accepts(model.forward, "attention_mask")
        self._use_position_ids = _accepts(model.forward, "position_ids")
        banned = {self.mask_token_id}
        for tok_id in (getattr(tokenizer, "pad_token_id", None), getattr(tokenizer, "bos_token_id", None),
                       getattr(tokenizer, "cls_token_id", None), getattr(tokenizer, "unk_token_id", None)):
            if tok_id is not None and tok_id != self.eos_token_id:
                banned.add(int(tok_id))
        self.banned_token_ids = sorted(banned)

    # ------------------------------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(cls, name_or_path: "str | os.PathLike | None" = None, *, trust_remote_code: bool | None = None,
                        device: str = "cpu", dtype: str | None = None, chat_template: bool | None = None,
                        mask_token_id: int | None = None) -> "MaskedDiffusionLM":
        """Load a backbone (see the module docstring). ``dtype``: "float32" (default), "bfloat16", ..."""
        import torch
        from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM, AutoTokenizer

        path, name = cls._resolve(name_or_path)
        remote = bool(trust_remote_code)
        try:
            config = AutoConfig.from_pretrained(path, trust_remote_code=remote)
        except ValueError as exc:
            if trust_remote_code is None and "trust_remote_code" in str(exc):
                raise ValueError(f"{name} ships its own modelling code (LLaDA/Dream); pass trust_remote_code=True "
                                 "if you trust it") from None
            raise
        model_type = str(getattr(config, "model_type", "")).lower()
        torch_dtype = getattr(torch, dtype) if dtype else torch.float32
        with quiet_loading():      # no "Loading weights" bar at every env made
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=remote)
            if model_type.startswith("llada"):
                model = AutoModel.from_pretrained(path, trust_remote_code=True, dtype=torch_dtype)
                mask_id = mask_token_id or getattr(config, "mask_token_id", None) or LLADA_MASK_ID
                shift = False
            elif model_type == "dream":
                model = AutoModel.from_pretrained(path, trust_remote_code=True, dtype=torch_dtype)
                mask_id = mask_token_id or getattr(config, "mask_token_id", None) or tokenizer.mask_token_id
                shift = True
            else:
                model = AutoModelForMaskedLM.from_pretrained(path, trust_remote_code=remote, dtype=torch_dtype)
                mask_id = mask_token_id or tokenizer.mask_token_id
                shift = False
        use_chat = chat_template if chat_template is not None else (
            model_type.startswith("llada") or model_type == "dream") and bool(getattr(tokenizer, "chat_template", None))
        lm = cls(model, tokenizer, mask_token_id=mask_id, shift_logits=shift, chat_template=use_chat, name=name,
                 device=device)
        marker = Path(path) / COMPLETE_MARKER
        if marker.is_file():  # a model made by `rlvr dllm pretrain`: remember what it was trained on
            import json

            lm.meta = json.loads(marker.read_text(encoding="utf-8"))
        return lm

    @property
    def trained_tasks(self) -> list[str]:
        """The task specs the model was pretrained on (models made by `rlvr dllm pretrain`), else []."""
        return list((self.meta.get("config") or {}).get("tasks") or [])

    @staticmethod
    def _resolve(name_or_path) -> tuple[str, str]:
        if name_or_path is None or str(name_or_path) == DEFAULT_MODEL:
            path = default_model_dir()
            if not (path / COMPLETE_MARKER).is_file():
                raise DiffusionLMNotFound(
                    f"the embedded tiny diffusion LM is not in the cache yet ({path}); make it once with "
                    "`rlvr dllm pretrain` (a few minutes on a CPU), or pass model=<dir of a saved masked LM>")
            return str(path), DEFAULT_MODEL
        path = Path(name_or_path).expanduser()
        if path.exists():
            if not (path / "config.json").is_file():
                raise DiffusionLMNotFound(f"{path} holds no config.json: not a model saved in Hugging Face format")
            return str(path), path.name
        if str(name_or_path).startswith((".", "/", "~")):
            raise DiffusionLMNotFound(f"no model directory at {path}")
        return str(name_or_path), str(name_or_path)  # a hub name: transformers looks in the local HF cache

    # ------------------------------------------------------------------------------------------ text

    def encode_prompt(self, text: str) -> list[int]:
        """Token ids of a prompt (with the tokenizer's special tokens, or inside the chat template)."""
        if not isinstance(text, str):
            raise TypeError(f"a prompt must be a str, got {type(text).__name__}")
        if self.chat_template:
            rendered = self.tokenizer.apply_chat_template([{"role": "user", "content": text}],
                                                          add_generation_prompt=True, tokenize=False)
            return list(self.tokenizer(rendered, add_special_tokens=False)["input_ids"])
        ids = list(self.tokenizer(text)["input_ids"])
        if ids and self.eos_token_id is not None and ids[-1] == self.eos_token_id and len(ids) > 1:
            ids = ids[:-1]  # a trailing [SEP]/EOS would tell the model the text is over
        return ids

    def decode(self, completion_ids: Sequence[int]) -> str:
        """The completion's text: tokens before the first EOS (mask tokens dropped), special tokens removed."""
        ids = [int(t) for t in completion_ids]
        if self.eos_token_id is not None and self.eos_token_id in ids:
            ids = ids[: ids.index(self.eos_token_id)]
        ids = [t for t in ids if t != self.mask_token_id]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    # ------------------------------------------------------------------------------------------ forward

    def batch_inputs(self, prompts: Sequence[Sequence[int]], completions):
        """(input_ids, attention_mask, position_ids) for rows [left padding][prompt][completion]."""
        import torch

        completions = torch.as_tensor(completions, dtype=torch.long, device=self.device)
        batch, length = completions.shape
        if len(prompts) != batch:
            raise ValueError(f"got {len(prompts)} prompts for {batch} completions")
        width = max((len(p) for p in prompts), default=0)
        ids = torch.full((batch, width + length), self.pad_token_id, dtype=torch.long, device=self.device)
        attention = torch.zeros((batch, width + length), dtype=torch.long, device=self.device)
        positions = torch.zeros((batch, width + length), dtype=torch.long, device=self.device)
        for row, prompt in enumerate(prompts):
            start = width - len(prompt)
            if len(prompt):
                ids[row, start:width] = torch.as_tensor(list(prompt), dtype=torch.long, device=self.device)
            attention[row, start:] = 1
            positions[row, start:] = torch.arange(width + length - start, device=self.device)
        ids[:, width:] = completions
        return ids, attention, positions

    def logits(self, input_ids, attention_mask=None, position_ids=None):
        """The model's logits [B, T, V] in float32, aligned so that position i predicts token i."""

        kwargs = {}
        if attention_mask is not None and self._use_attention_mask:
            if self.shift_logits:  # Dream wants a [B, 1, T, T] boolean mask (its own generate builds one)
                keep = attention_mask.bool()
                attention_mask = keep[:, None, None, :] & keep[:, None, :, None]
            kwargs["attention_mask"] = attention_mask
        if position_ids is not None and self._use_position_ids:
            kwargs["position_ids"] = position_ids
        out = self.model(input_ids=input_ids, **kwargs)
        logits = out.logits if hasattr(out, "logits") else out[0]
        logits = logits.float()
        if self.shift_logits:
            logits = align_shifted_logits(logits)
        self.vocab_size = logits.shape[-1]
        return logits

    def predict(self, prompts: Sequence[Sequence[int]], completions):
        """ONE forward pass. Returns (confidence [B, L] float32, tokens [B, L] int64) as numpy arrays:
        the top-1 probability and the top-1 token of every completion position (special tokens excluded)."""
        import torch

        ids, attention, positions = self.batch_inputs(prompts, completions)
        length = ids.shape[1] - max((len(p) for p in prompts), default=0)
        with torch.inference_mode():
            logits = self.logits(ids, attention, positions)[:, -length:, :]
            banned = [t for t in self.banned_token_ids if t < logits.shape[-1]]
            if banned:
                logits[..., banned] = float("-inf")
            probs = torch.softmax(logits, dim=-1)
            confidence, tokens = probs.max(dim=-1)
            confidence = confidence.clamp(0.0, 1.0)
        return confidence.cpu().numpy().astype("float32"), tokens.cpu().numpy().astype("int64")


def align_shifted_logits(logits):
    """Dream's convention: logits at i-1 predict token i. Shift right by one (position 0 keeps its own)."""
    import torch

    return torch.cat([logits[:, :1], logits[:, :-1]], dim=1)
