"""Agents and training for Unmasking-v0 (envs/unmasking/): which tokens a diffusion LM unmasks.

- ``policies.py``: the unmasking agents (Fast-dLLM confidence threshold, top-k, random, left-to-right, and the
  learned policy) and the ``unmask:`` agent specs;
- ``train.py``: training the learned policy with GRPO (``rlvr dllm train-policy``);
- ``dllm_pretrain.py``: pretraining the embedded tiny masked diffusion LM (``rlvr dllm pretrain``).
"""
