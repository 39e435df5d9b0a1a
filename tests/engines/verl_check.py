"""Run inside a Python environment that has verl (and this checkout installed with ``pip install --no-deps -e``):
load an exported parquet with verl's own RLHFDataset, load our reward through verl's custom reward loader (both the
``pkg://`` module path and the file path), and score responses through verl's NaiveRewardManager (which tokenises
nothing: it decodes the response token ids and calls the reward). Writes a JSON report for tests/test_engines.py.

    python tests/engines/verl_check.py --parquet train.parquet --tokenizer DIR --responses responses.json --out r.json

responses.json: one list of response texts per dataset row (in row order).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parquet", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--responses", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import numpy as np
    import torch
    import verl
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl import DataProto
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    from verl.trainer.ppo.reward import get_custom_reward_fn
    from verl.utils.dataset.rl_dataset import RLHFDataset

    import rlvr_gym.envs.interop.verl as ours

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    cache = tempfile.mkdtemp(prefix="verl-cache-")
    data_config = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": 8192, "filter_overlong_prompts": True,
                                    "filter_overlong_prompts_workers": 1, "cache_dir": cache, "truncation": "error"})
    dataset = RLHFDataset(data_files=[args.parquet], tokenizer=tokenizer, config=data_config)
    responses = json.loads(open(args.responses, encoding="utf-8").read())
    assert len(responses) == len(dataset), (len(responses), len(dataset))

    loaders = {}
    for label, path in (("pkg", "pkg://rlvr_gym.envs.interop.verl"), ("file", ours.__file__)):
        config = OmegaConf.create({"reward": {"custom_reward_function": {"path": path, "name": "compute_score",
                                                                         "reward_kwargs": {}}}})
        loaders[label] = get_custom_reward_fn(config)

    async def score_all():
        manager = NaiveRewardManager(OmegaConf.create({}), tokenizer, loaders["pkg"])
        report = []
        for i in range(len(dataset)):
            item = dataset[i]
            prompt_ids = tokenizer.apply_chat_template(item["raw_prompt"], add_generation_prompt=True, tokenize=True,
                                                       return_dict=False)
            scored = []
            for text in responses[i]:
                response_ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
                batch = {"prompts": torch.tensor([prompt_ids]), "responses": torch.tensor([response_ids]),
                         "attention_mask": torch.ones(1, len(prompt_ids) + len(response_ids), dtype=torch.long)}
                non_tensors = {key: np.array([item[key]], dtype=object)
                               for key in ("data_source", "reward_model", "extra_info")}
                data = DataProto.from_dict(tensors=batch, non_tensors=non_tensors)
                result = await manager.run_single(data)
                decoded = tokenizer.decode(response_ids, skip_special_tokens=True)
                file_score = loaders["file"](data_source=item["data_source"], solution_str=decoded,
                                             ground_truth=item["reward_model"]["ground_truth"],
                                             extra_info=dict(item["extra_info"]))
                scored.append({"decoded": decoded, "reward": float(result["reward_score"]),
                               "file_reward": float(file_score)})
            report.append({"data_source": item["data_source"], "raw_prompt": item["raw_prompt"],
                           "ability": item["ability"], "reward_model": item["reward_model"],
                           "extra_info": {k: v for k, v in item["extra_info"].items()}, "index": item["index"],
                           "scored": scored})
        return report

    report = asyncio.run(score_all())
    from importlib.metadata import version

    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"verl_version": version("verl"), "verl_file": verl.__file__, "rows": report}, handle, default=str)


if __name__ == "__main__":
    main()
