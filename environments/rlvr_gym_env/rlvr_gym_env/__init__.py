"""rlvr-gym's text environments as a verifiers taskset (id ``rlvr-gym-env``); the code lives in
``rlvr_gym.envs.interop.verifiers_env``. verifiers finds the taskset and the Env through ``__all__``.

    vf-eval rlvr-gym-env --env.taskset.env-id TemporalClue-Easy-v0 --env.taskset.n 8 --env.agent.harness.id null ...
"""

from rlvr_gym.envs.interop.verifiers_env import RlvrGymEnv, RlvrGymTaskset, load_environment

__all__ = ["RlvrGymTaskset", "RlvrGymEnv", "load_environment"]
