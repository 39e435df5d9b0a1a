"""Pretraining with LET / RKD / baseline: alignment maths, corpora, the trainer, resume, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr_gym.agents.pretrain import alignment, corpus  # noqa: E402
from rlvr_gym.agents.pretrain.trainer import PretrainConfig, read_metrics, train  # noqa: E402

torch.set_num_threads(1)

TINY = dict(corpus="synthetic", corpus_docs=300, seq_len=32, batch_size=4, eval_every=4, eval_batches=2,
            progress=False, warmup_steps=2, plot=False, threads=1)


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory) -> str:
    """A 1-layer teacher trained here for a few steps, with its own bpe:300 tokenizer."""
    out = tmp_path_factory.mktemp("teacher")
    summary = train(PretrainConfig(output_dir=str(out), method="baseline", tokenizer="bpe:300", n_layers=1,
                                   hidden_size=32, n_heads=2, max_steps=6, **TINY))
    return summary["final_model"]


# --- alignment -----------------------------------------------------------------------------------------------


def test_neg_cosine_is_minus_one_when_aligned_and_plus_one_when_opposite():
    h = torch.randn(2, 5, 8)
    assert alignment.neg_cosine(h, 3 * h).item() == pytest.approx(-1.0, abs=1e-5)
    assert alignment.neg_cosine(h, -h).item() == pytest.approx(1.0, abs=1e-5)


def test_masked_positions_do_not_count():
    h = torch.randn(1, 4, 8)
    other = h.clone()
    other[0, 3] = -h[0, 3]
    mask = torch.tensor([[True, True, True, False]])
    assert alignment.neg_cosine(h, other, mask).item() == pytest.approx(-1.0, abs=1e-5)
    assert alignment.neg_cosine(h, other).item() == pytest.approx(-0.5, abs=1e-5)


def test_mse_and_logsum_prefer_the_matching_teacher_state():
    g = torch.Generator().manual_seed(0)
    h = torch.randn(2, 6, 16, generator=g)
    shuffled = h[:, torch.tensor([1, 2, 3, 4, 5, 0])]
    assert alignment.mse(h, h).item() == 0.0
    assert alignment.logsum(h, h).item() < alignment.logsum(h, shuffled).item()
    # logsum is a contrast: mapping every token onto one direction does not satisfy it (neg_cosine can be fooled)
    same = h[:, :1].expand_as(h)
    assert alignment.logsum(same, h).item() > alignment.logsum(h, h).item() + 1.0


def test_unknown_loss_name_is_a_clear_error_and_callables_are_accepted():
    with pytest.raises(ValueError, match="neg_cosine"):
        alignment.get_alignment_loss("cosine-ish")
    fn = lambda s, t, mask=None: (s - t).abs().mean()  # noqa: E731
    assert alignment.get_alignment_loss(fn) is fn


def test_lambda_decays_linearly_to_zero_at_s_stop():
    assert alignment.lambda_schedule(0, 0.1, 100) == pytest.approx(0.1)
    assert alignment.lambda_schedule(50, 0.1, 100) == pytest.approx(0.05)
    assert alignment.lambda_schedule(99, 0.1, 100) == pytest.approx(0.001)
    assert alignment.lambda_schedule(100, 0.1, 100) == 0.0
    assert alignment.lambda_schedule(5000, 0.1, 100) == 0.0
    assert alignment.lambda_schedule(0, 0.1, 0) == 0.0


def test_pairings():
    assert alignment.resolve_pairing("late-to-early", 4, 12, early_layer=3) == [(4, 3)]
    assert alignment.resolve_pairing("late-to-late", 4, 12) == [(4, 12)]
    assert alignment.resolve_pairing("late-to-middle", 4, 12) == [(4, 6)]
    assert alignment.resolve_pairing("middle-to-early", 4, 12, early_layer=2) == [(2, 2)]
    assert alignment.resolve_pairing("late-to-early", 2, 2, early_layer=3) == [(2, 2)]  # k clipped to depth
    assert alignment.resolve_pairing("-1:3,2:5", 4, 12) == [(4, 3), (2, 5)]
    with pytest.raises(ValueError, match="out of range"):
        alignment.resolve_pairing("9:1", 4, 12)
    with pytest.raises(ValueError, match="late-to-early"):
        alignment.resolve_pairing("late-to-nowhere", 4, 12)


# --- corpora -------------------------------------------------------------------------------------------------


def test_synthetic_documents_are_reproducible_and_seeded():
    a, b = corpus.synthetic_documents(20, seed=3), corpus.synthetic_documents(20, seed=3)
    assert a == b
    assert a != corpus.synthetic_documents(20, seed=4)
    assert corpus.synthetic_documents(25, seed=3)[:20] == a  # item i does not depend on n
    assert any(d.startswith("Mystery") for d in a) and any("Answer:" in d for d in a)


def test_env_corpus_has_the_requested_size_and_reports_its_sources():
    docs = corpus.env_documents(30, seed=1)
    assert len(docs) == 30 and all(isinstance(d, str) and d for d in docs)
    assert set(corpus.corpus_report) == {"temporal_clue", "math"}
    assert docs == corpus.env_documents(30, seed=1)


def test_loading_text_jsonl_directory_and_errors(tmp_path):
    (tmp_path / "a.txt").write_text("first doc\nline two\n\nsecond doc\n\n\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"text": "third"}) + "\n\n" + json.dumps({"text": "fourth"}) + "\n")
    assert corpus.load_documents(str(tmp_path / "a.txt")) == ["first doc\nline two", "second doc"]
    assert corpus.load_documents(str(tmp_path)) == ["first doc\nline two", "second doc", "third", "fourth"]
    assert corpus.load_documents(str(tmp_path), n_docs=3)[-1] == "third"
    (tmp_path / "bad.jsonl").write_text('{"body": "x"}\n')
    with pytest.raises(ValueError, match="string field 'text'"):
        corpus.load_documents(str(tmp_path / "bad.jsonl"))
    with pytest.raises(ValueError, match="envs"):
        corpus.load_documents(str(tmp_path / "missing.txt"))


def test_hugging_face_datasets_from_disk_and_load_dataset(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"content": ["alpha beta", "gamma", ""]}).save_to_disk(str(tmp_path / "saved"))
    assert corpus.load_documents(f"hf:{tmp_path / 'saved'}", text_field="content") == ["alpha beta", "gamma"]
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "train.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in ["one", "two"]) + "\n")
    assert corpus.load_documents(f"hf:{raw}") == ["one", "two"]  # the real datasets.load_dataset path
    with pytest.raises(ValueError, match="no column"):
        corpus.load_documents(f"hf:{tmp_path / 'saved'}", text_field="text")


def test_split_is_a_seeded_partition():
    docs = [f"d{i}" for i in range(50)]
    train_docs, val = corpus.split_documents(docs, 0.1, seed=0)
    assert len(val) == 5 and sorted(train_docs + val) == sorted(docs)
    assert corpus.split_documents(docs, 0.1, seed=0) == (train_docs, val)


def test_packing_and_the_batch_for_a_step_is_fixed():
    docs = corpus.synthetic_documents(60, seed=0)
    tok = corpus.train_bpe_tokenizer(docs, 300)
    blocks = corpus.pack_documents(docs, tok, seq_len=16, seed=5)
    assert blocks.blocks.shape[1] == 16 and len(blocks) == blocks.n_tokens // 16
    assert int((blocks.blocks == tok.eos_token_id).sum()) >= 60 * (len(blocks) * 16) // blocks.n_tokens - 1
    assert torch.equal(blocks.batch(7, 4), blocks.batch(7, 4))
    one_epoch = torch.cat([blocks.batch(s, 1) for s in range(len(blocks))])
    assert sorted(one_epoch[:, 0].tolist()) == sorted(blocks.blocks[:, 0].tolist())  # a permutation
    with pytest.raises(ValueError, match="seq_len"):
        corpus.pack_documents(docs, tok, seq_len=1)


# --- the trainer ---------------------------------------------------------------------------------------------


def test_baseline_run_writes_metrics_model_and_plot(tmp_path):
    out = tmp_path / "base"
    summary = train(PretrainConfig(output_dir=str(out), method="baseline", tokenizer="bpe:300", n_layers=2,
                                   hidden_size=32, n_heads=2, max_steps=8, **{**TINY, "plot": True}))
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(8))
    assert all(r["let/lambda"] == 0.0 and r["let/align_loss"] is None for r in rows)
    assert rows[-1]["loss/nll"] < rows[0]["loss/nll"]
    assert math.isfinite(summary["final_eval_nll"])
    assert (out / "loss_curves.png").stat().st_size > 1000
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(summary["final_model"])
    assert model.config.model_type == "llama" and model.config.num_hidden_layers == 2
    assert len(AutoTokenizer.from_pretrained(summary["final_model"])) == 300


def test_let_run_aligns_then_releases_the_teacher(tmp_path, teacher_dir):
    out = tmp_path / "let"
    summary = train(PretrainConfig(output_dir=str(out), method="let", teacher=teacher_dir, n_layers=3,
                                   hidden_size=48, n_heads=2, max_steps=10, s_stop=6, lambda_0=1.0,
                                   align_layer=2, **TINY))
    rows = read_metrics(out / "metrics.jsonl")
    assert summary["pairs"] == [(1, 2)]  # the teacher's last (only) layer -> the target's layer 2
    assert rows[0]["let/lambda"] == pytest.approx(1.0)
    assert [r["let/lambda"] for r in rows[6:]] == [0.0] * 4
    assert all(r["let/align_loss"] is not None for r in rows[:6])
    assert all(r["let/align_loss"] is None for r in rows[6:])
    assert rows[5]["let/align_loss"] < rows[0]["let/align_loss"]  # the projected layer moves towards the teacher
    assert summary["teacher_params"] > 0 and summary["vocab_size"] == 300  # tokenizer=auto took the teacher's


def test_equal_widths_need_no_projection_and_several_pairs_work(tmp_path, teacher_dir):
    out = tmp_path / "pairs"
    summary = train(PretrainConfig(output_dir=str(out), method="let", teacher=teacher_dir, n_layers=2, hidden_size=32,
                                   n_heads=2, max_steps=3, s_stop=3, pairing="-1:1,-1:2", align_loss="logsum",
                                   save_final=False, **TINY))
    assert summary["pairs"] == [(1, 1), (1, 2)]
    rows = read_metrics(out / "metrics.jsonl")
    assert all(math.isfinite(r["let/align_loss"]) for r in rows)


def test_rkd_run_logs_the_kd_loss(tmp_path, teacher_dir):
    out = tmp_path / "rkd"
    train(PretrainConfig(output_dir=str(out), method="rkd", teacher=teacher_dir, n_layers=2, hidden_size=32,
                         n_heads=2, max_steps=5, s_stop=3, lambda_0=0.5, **TINY))
    rows = read_metrics(out / "metrics.jsonl")
    assert all(r["rkd/kd_loss"] > 0 for r in rows[:3]) and rows[3]["rkd/kd_loss"] is None
    assert rows[0]["loss/total"] == pytest.approx(rows[0]["loss/nll"] + 0.5 * rows[0]["rkd/kd_loss"], rel=1e-5)


def test_resume_matches_an_uninterrupted_run(tmp_path, teacher_dir):
    settings = dict(method="let", teacher=teacher_dir, n_layers=2, hidden_size=32, n_heads=2, max_steps=8,
                    s_stop=6, checkpoint_every=2, **TINY)
    train(PretrainConfig(output_dir=str(tmp_path / "straight"), **settings))
    interrupted = tmp_path / "interrupted"
    first = train(PretrainConfig(output_dir=str(interrupted), stop_at=4, **settings))
    assert first["stopped_early"] and not (interrupted / "final").exists()
    # Simulate a crash after the checkpoint: extra metric lines the resumed run must replace.
    with (interrupted / "metrics.jsonl").open("a") as fh:
        fh.write(json.dumps({"step": 4, "loss/nll": 99.0}) + "\n")
    resumed_summary = train(PretrainConfig(output_dir=str(interrupted), resume="auto", **settings))
    assert resumed_summary["resumed_from"] == 4
    straight = read_metrics(tmp_path / "straight" / "metrics.jsonl")
    resumed = read_metrics(interrupted / "metrics.jsonl")
    assert [r["step"] for r in resumed] == list(range(8))
    for a, b in zip(straight, resumed):
        assert b["loss/nll"] == pytest.approx(a["loss/nll"], abs=1e-4)
        assert b["let/lambda"] == a["let/lambda"]
    assert resumed[-1]["eval/nll"] == pytest.approx(straight[-1]["eval/nll"], abs=1e-4)


def test_any_hugging_face_config_can_be_the_target(tmp_path):
    cfg_file = tmp_path / "config.json"
    cfg_file.write_text(json.dumps({"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64,
                                    "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                                    "max_position_embeddings": 64}))
    summary = train(PretrainConfig(output_dir=str(tmp_path / "q"), method="baseline", tokenizer="bpe:300",
                                   model_config=str(cfg_file), max_steps=2, save_final=True, **TINY))
    config = json.loads((Path(summary["final_model"]) / "config.json").read_text())
    assert config["model_type"] == "qwen2" and config["vocab_size"] == 300


def test_bad_settings_are_clear_errors(tmp_path, teacher_dir):
    with pytest.raises(ValueError, match="needs a teacher"):
        PretrainConfig(method="let").validate()
    with pytest.raises(ValueError, match="method"):
        PretrainConfig(method="distill").validate()
    with pytest.raises(ValueError, match="divisible by grad_accum"):
        PretrainConfig(method="baseline", batch_size=5, grad_accum=2).validate()
    with pytest.raises(ValueError, match="unknown pretrain settings"):
        PretrainConfig.from_dict({"hidden": 3})
    with pytest.raises(ValueError, match="share a tokenizer"):  # the teacher's tokenizer is not bpe:400
        train(PretrainConfig(output_dir=str(tmp_path / "x"), method="let", teacher=teacher_dir, tokenizer="bpe:400",
                             n_layers=2, hidden_size=32, n_heads=2, max_steps=1, **TINY))
    with pytest.raises(ValueError, match="equal widths"):
        train(PretrainConfig(output_dir=str(tmp_path / "y"), method="let", teacher=teacher_dir, projection="none",
                             n_layers=2, hidden_size=64, n_heads=2, max_steps=1, **TINY))


def test_gradient_accumulation_matches_one_big_batch(tmp_path):
    common = dict(method="baseline", tokenizer="bpe:300", n_layers=1, hidden_size=32, n_heads=2, max_steps=3,
                  save_final=False, **TINY)
    train(PretrainConfig(output_dir=str(tmp_path / "one"), grad_accum=1, **common))
    train(PretrainConfig(output_dir=str(tmp_path / "two"), grad_accum=2, **common))
    one, two = read_metrics(tmp_path / "one" / "metrics.jsonl"), read_metrics(tmp_path / "two" / "metrics.jsonl")
    for a, b in zip(one, two):
        assert b["loss/nll"] == pytest.approx(a["loss/nll"], abs=1e-4)


# --- the CLI ------------------------------------------------------------------------------------------------


def test_cli_flags_override_yaml_and_train(tmp_path, capsys):
    from rlvr_gym.cli import pretrain as cli

    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("method: baseline\nn_layers: 3\nhidden_size: 32\nn_heads: 2\ncorpus: synthetic\n"
                         "corpus_docs: 200\ntokenizer: bpe:300\nseq_len: 32\nbatch_size: 4\n")
    assert cli.main(["--config", str(yaml_file), "--n-layers", "1", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["n_layers"] == 1 and printed["hidden_size"] == 32 and printed["progress"] is True
    code = cli.main(["--config", str(yaml_file), "--n-layers", "1", "--max-steps", "2", "--no-progress",
                     "--no-plot", "--output-dir", str(tmp_path / "run")])
    assert code == 0 and (tmp_path / "run" / "final" / "config.json").exists()
    assert cli.main(["--method", "let"]) == 2
    assert "needs a teacher" in capsys.readouterr().err


def test_the_module_plugs_into_the_rlvr_command(monkeypatch, capsys):
    from rlvr_gym.cli import main as rlvr

    monkeypatch.setitem(rlvr.SUBCOMMANDS, "pretrain", ("rlvr_gym.cli.pretrain", "pretrain a causal LM (LET)"))
    assert rlvr.main(["pretrain", "--method", "baseline", "--s-stop", "7", "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["s_stop"] == 7
    assert rlvr.main(["pretrain", "--method", "rkd"]) == 2  # no teacher: one line, exit 2
    assert "needs a teacher" in capsys.readouterr().err


@pytest.mark.slow
def test_default_tokenizer_is_the_embedded_models():
    tok = corpus.load_tokenizer("smollm2")
    assert len(tok) == 49152 and tok.eos_token == "<|im_end|>"


def test_the_embedded_smollm2_can_be_the_teacher(tmp_path):
    models = pytest.importorskip("rlvr_gym.agents.lm.models")
    if not models.is_prepared("smollm2-135m"):
        pytest.skip("smollm2-135m is not prepared (python -m rlvr_gym.agents.lm.models prepare smollm2-135m)")
    summary = train(PretrainConfig(output_dir=str(tmp_path / "smol"), method="let", teacher="smollm2-135m",
                                   n_layers=2, hidden_size=64, n_heads=2, max_steps=2, s_stop=2, save_final=False,
                                   **{**TINY, "corpus_docs": 60}))
    assert summary["pairs"] == [(30, 2)]  # its last (30th) layer -> layer 2, through a 64 -> 576 projection
    assert summary["vocab_size"] == 49152  # tokenizer=auto: the embedded model's
