"""Causal-LM pretraining: plain, reverse KD, or Late-to-Early Training (LET, arXiv 2602.05393).

- ``trainer.py``: PretrainConfig (the ``rlvr pretrain`` options) and ``train(config)``;
- ``alignment.py``: the LET alignment losses, layer pairings and the lambda schedule;
- ``corpus.py``: corpora (our envs' text, synthetic, files, HF datasets), tokenizers and packing.
"""

from rlvr_gym.agents.pretrain.trainer import METHODS, PretrainConfig, train

__all__ = ["PretrainConfig", "train", "METHODS"]
