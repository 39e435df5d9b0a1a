"""Unmasking-v0: which tokens a frozen masked diffusion LM unmasks, as an MDP.

- ``env.py``: UnmaskingEnv (one episode = one generation), UnmaskingVectorEnv and UnmaskingBatch (one forward
  pass for all sub-envs per step);
- ``tasks.py``: the synthetic tasks with verifiable answers (addition, split, permute, Math level 1) and their
  seeded items;
- ``dllm.py``: MaskedDiffusionLM, the wrapper around a masked diffusion LM (the embedded tiny one, or
  LLaDA/Dream conventions), and the tiny model's tokenizer and config.
"""
