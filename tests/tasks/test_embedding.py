import json
from dataclasses import replace

import datasets
import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Normalize
from transformers import AutoModel, DataCollatorWithPadding

from hfdistill.cache.embeddings import cached_teacher_targets, teacher_targets
from hfdistill.cache.teacher_outputs import TEACHER_EMBEDDING
from hfdistill.config.training import DistillationArguments
from hfdistill.losses.embedding import embedding_contrastive, embedding_mse
from hfdistill.models.sentence_encoder import encode, student_from_encoder, student_from_teacher, with_linear_map
from hfdistill.outputs.embedding_scores import score_embeddings
from hfdistill.tasks.sentence_embedding import pair_sentences, training_rows
from hfdistill.training.embedding_trainer import EmbeddingDistillationTrainer
from tests.conftest import tiny_sentence_encoder

PAIRS = datasets.Dataset.from_dict(
    {
        "en": ["the light shines", "in the beginning", "the earth was void", "and god said", "let there be light"],
        "es": ["la luz resplandece", "en el principio", "la tierra estaba vacia", "y dijo dios", "sea la luz"],
    }
)


@pytest.fixture(scope="module")
def teacher_path(tmp_path_factory):
    return tiny_sentence_encoder(tmp_path_factory.mktemp("teacher"), hidden_size=32, num_layers=4)


@pytest.fixture(scope="module")
def teacher(teacher_path):
    return SentenceTransformer(teacher_path, device="cpu")


def test_student_from_teacher_is_a_copy_or_a_cut(teacher, teacher_path):
    copy = student_from_teacher(teacher_path, None, 64)
    np.testing.assert_allclose(encode(copy, PAIRS["en"]), encode(teacher, PAIRS["en"]), atol=1e-6)
    cut = student_from_teacher(teacher_path, [0, 3], 64)
    assert cut[0].auto_model.config.num_hidden_layers == 2 and isinstance(cut[-1], Normalize)


def test_plain_encoder_gets_the_teachers_pooling_and_a_projection(teacher, tmp_path):
    path = tiny_sentence_encoder(tmp_path / "wide", hidden_size=48, as_sentence_transformer=False)
    student = student_from_encoder(path, teacher, 64)
    assert isinstance(student[2], Dense) and isinstance(student[-1], Normalize)
    assert student[1].pooling_mode == "mean" and encode(student, ["hola"]).shape == (1, 32)


def test_sentence_transformer_student_of_another_width_is_refused(teacher, tmp_path):
    path = tiny_sentence_encoder(tmp_path / "wide", hidden_size=48)
    with pytest.raises(ValueError, match="embeds into 48 dimensions but the teacher into 32"):
        student_from_encoder(path, teacher, 64)


def test_training_rows_pair_every_sentence_with_its_source_target(teacher):
    targets = teacher_targets(teacher, PAIRS["en"])
    rows = training_rows(*pair_sentences(PAIRS, targets, ["en", "es"]), teacher.tokenizer, 16)
    assert len(rows) == 10 and set(rows.column_names) >= {"input_ids", TEACHER_EMBEDDING}
    np.testing.assert_allclose(rows[2][TEACHER_EMBEDDING], targets[1], rtol=1e-6)  # "in the beginning"
    np.testing.assert_allclose(rows[3][TEACHER_EMBEDDING], targets[1], rtol=1e-6)  # "en el principio"
    assert teacher.tokenizer.decode(rows[3]["input_ids"], skip_special_tokens=True).replace(" ", "") == "enelprincipio"


def train(student, rows, tmp_path, **overrides):
    settings = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        num_train_epochs=5,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        seed=0,
        data_seed=0,
    )
    args = DistillationArguments(**{**settings, **overrides})
    trainer = EmbeddingDistillationTrainer(
        model=student, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(student.tokenizer)
    )
    trainer.train()
    return trainer


def test_training_moves_translations_onto_the_teachers_embeddings(teacher, teacher_path, tmp_path):
    targets = teacher_targets(teacher, PAIRS["en"])
    student = student_from_teacher(teacher_path, None, 64)
    before = score_embeddings(student, PAIRS, "en", "es", targets)
    frozen = {name: p.clone() for name, p in teacher.named_parameters()}
    rows = training_rows(*pair_sentences(PAIRS, targets, ["en", "es"]), student.tokenizer, 64)
    trainer = train(student, rows, tmp_path, num_train_epochs=10)
    after = score_embeddings(student, PAIRS, "en", "es", targets)
    assert after.target_mse < before.target_mse / 2 and after.target_cosine > before.target_cosine
    assert all(torch.equal(p, frozen[name]) for name, p in teacher.named_parameters())
    assert trainer.teacher is None  # nothing but the precomputed targets


def test_eval_loss_is_the_held_out_mse(teacher, teacher_path, tmp_path):
    targets = teacher_targets(teacher, PAIRS["en"])
    student = student_from_teacher(teacher_path, None, 64)
    rows = training_rows(*pair_sentences(PAIRS, targets, ["en", "es"]), student.tokenizer, 64)
    trainer = train(student, rows, tmp_path, num_train_epochs=1)
    metrics = trainer.evaluate(rows)
    student.eval()
    with torch.no_grad():
        expected = np.mean(
            (encode(student, list(PAIRS["en"]) + list(PAIRS["es"])) - np.concatenate([targets, targets])) ** 2
        )
    assert metrics["eval_loss"] == pytest.approx(expected, rel=1e-3)


def test_gradient_accumulation_gives_the_same_student(teacher, teacher_path, tmp_path):
    targets = teacher_targets(teacher, PAIRS["en"])
    results = []
    for batch, accumulation in ((4, 1), (2, 2)):
        student = student_from_teacher(teacher_path, None, 64)
        rows = training_rows(*pair_sentences(PAIRS.select(range(4)), targets[:4], ["en", "es"]), student.tokenizer, 64)
        train(
            student,
            rows,
            tmp_path / f"{batch}",
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accumulation,
            optim="sgd",
            num_train_epochs=2,
        )
        results.append(torch.cat([p.detach().flatten() for p in student.parameters()]))
    torch.testing.assert_close(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_saved_student_loads_in_sentence_transformers_and_automodel(teacher_path, tmp_path):
    student = student_from_teacher(teacher_path, [0, 2], 64)
    student.save(str(tmp_path / "s"), create_model_card=False)
    reloaded = SentenceTransformer(str(tmp_path / "s"), device="cpu")
    np.testing.assert_allclose(encode(reloaded, ["hola"]), encode(student, ["hola"]), atol=1e-6)
    assert AutoModel.from_pretrained(tmp_path / "s").config.num_hidden_layers == 2


def test_cached_targets_are_the_teachers_and_reused(teacher, teacher_path, tmp_path, caplog):
    args = DistillationArguments(output_dir=str(tmp_path), teacher_cache_dir=str(tmp_path / "cache"), use_cpu=True)
    sentences = list(PAIRS["en"])
    first = cached_teacher_targets(teacher, teacher_path, sentences, args)
    np.testing.assert_allclose(first, teacher_targets(teacher, sentences), atol=1e-6)
    with caplog.at_level("INFO", logger="hfdistill.cache"):
        again = cached_teacher_targets(teacher, teacher_path, sentences, args)
        other = cached_teacher_targets(teacher, teacher_path, sentences[:-1], args)
    np.testing.assert_array_equal(again, first)
    assert "the teacher does not run" in caplog.text and "computed with other training data" in caplog.text
    assert len(other) == len(sentences) - 1


def test_cache_teacher_embeddings_then_multilingual_reads_them(teacher_path, tmp_path, caplog):
    from hfdistill.cli import main

    lines = [f"{en}\t{es}" for en, es in zip(PAIRS["en"], PAIRS["es"], strict=True)]
    (tmp_path / "pairs.tsv").write_text("\n".join(lines * 2) + "\n")
    common = ["--teacher_name_or_path", teacher_path, "--student_name_or_path", "teacher", "--eval_datasets", "none"]
    common += ["--source_sentences", "none"]  # tiny runs: none of the default English alone
    common += ["--dataset_name", str(tmp_path / "pairs.tsv")]
    common += ["--eval_pairs", "2", "--teacher_cache_dir", str(tmp_path / "cache"), "--disable_tqdm", "true"]
    assert main(["cache-teacher", "--mode", "embeddings", *common]) == 0
    run = ["--output_dir", str(tmp_path / "out"), "--max_steps", "1", "--report_to", "none"]
    with caplog.at_level("INFO", logger="hfdistill.cache"):
        assert main(["multilingual", *common, *run]) == 0
    assert "the teacher does not run" in caplog.text and "cached the teacher's outputs" not in caplog.text
    assert main(["cache-teacher", "--mode", "embeddings", *common, "--teacher_cache_top_k", "3"]) == 2


def test_multilingual_runs_the_one_pipeline_and_pushes_its_student(teacher_path, tmp_path, monkeypatch, capsys):
    import huggingface_hub

    from hfdistill.cli import main
    from hfdistill.run import pipeline as run
    from tests.fake_hub import FakeHub

    stages = []
    original = run.task_for
    monkeypatch.setattr(run, "task_for", lambda name: stages.append(name) or original(name))
    lines = [f"{en}\t{es}" for en, es in zip(PAIRS["en"], PAIRS["es"], strict=True)]
    (tmp_path / "pairs.tsv").write_text("\n".join(lines * 2) + "\n")
    argv = ["multilingual", "--teacher_name_or_path", teacher_path, "--student_name_or_path", "teacher"]
    argv += ["--dataset_name", str(tmp_path / "pairs.tsv"), "--eval_datasets", "none", "--eval_pairs", "2"]
    argv += ["--source_sentences", "none"]
    argv += ["--output_dir", str(tmp_path / "out"), "--max_steps", "1", "--report_to", "none", "--timing_rounds", "1"]
    argv += ["--push_to_hub", "true", "--hub_model_id", "me/multilingual", "--hub_token", "hf_NotARealToken0123"]
    with FakeHub() as hub:
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        assert main(argv) == 0
    assert stages == ["sentence-embedding"]
    uploaded = hub.files["me/multilingual"]
    assert {"README.md", "modules.json", "model.safetensors"} <= set(uploaded)
    assert b"pipeline_tag: sentence-similarity" in uploaded["README.md"]
    assert "pushed: " in capsys.readouterr().out and json.loads((tmp_path / "out" / "report.json").read_text())


def test_evaluate_scores_saved_embedding_models_on_the_held_out_pairs(teacher_path, tmp_path, capsys):
    from hfdistill.cli import main

    lines = [f"{en}\t{es}" for en, es in zip(PAIRS["en"], PAIRS["es"], strict=True)]
    (tmp_path / "pairs.tsv").write_text("\n".join(lines) + "\n")
    student = student_from_teacher(teacher_path, [0, 3], 64)
    student.save(str(tmp_path / "student"))
    argv = ["evaluate", "--teacher", teacher_path, "--students", str(tmp_path / "student")]  # the task: the teacher's
    argv += ["--dataset_name", str(tmp_path / "pairs.tsv"), "--eval_pairs", "2", "--eval_datasets", "none"]
    argv += ["--source_sentences", "none"]
    assert main([*argv, "--timing_rounds", "1", "--output_file", str(tmp_path / "scores.json")]) == 0
    report = json.loads((tmp_path / "scores.json").read_text())
    teacher, cut = (report["scores"][name]["pairs, held out"]["es"] for name in ("teacher", str(tmp_path / "student")))
    assert teacher["source_cosine"] == pytest.approx(1.0, abs=1e-4) and cut["source_cosine"] < 1.0
    assert set(report["sentences_per_second"]) == {"teacher", str(tmp_path / "student")}
    assert "sentences/s" in capsys.readouterr().out


def test_retrieval_is_what_sentence_transformers_translation_evaluator_reports(teacher):
    from sentence_transformers.sentence_transformer.evaluation import TranslationEvaluator

    expected = TranslationEvaluator(list(PAIRS["en"]), list(PAIRS["es"]), write_csv=False)(teacher)
    scores = score_embeddings(teacher, PAIRS, "en", "es", teacher_targets(teacher, PAIRS["en"]))
    assert scores.source_to_target_top1 == round(expected["src2trg_accuracy"], 4)
    assert scores.target_to_source_top1 == round(expected["trg2src_accuracy"], 4)
    assert scores.target_to_teacher_index_top1 == scores.target_to_source_top1  # the teacher is its own index


def test_the_linear_map_moves_another_encoders_space_onto_the_teachers(teacher, tmp_path):
    other = SentenceTransformer(tiny_sentence_encoder(tmp_path / "other", hidden_size=32, num_layers=2), device="cpu")
    sentences = list(PAIRS["en"]) + list(PAIRS["es"])
    targets = np.concatenate([teacher_targets(teacher, PAIRS["en"])] * 2)
    mapped = with_linear_map(other, sentences, targets)
    assert isinstance(mapped[-2], Dense) and isinstance(mapped[-1], Normalize)
    before, after = (np.mean((encode(model, sentences) - targets) ** 2) for model in (other, mapped))
    assert after < before / 2
    np.testing.assert_allclose(np.linalg.norm(encode(mapped, sentences), axis=1), 1.0, atol=1e-5)


def contrastive_batch(teacher, student):
    targets = teacher_targets(teacher, PAIRS["en"])
    rows = training_rows(*pair_sentences(PAIRS, targets, ["en", "es"]), student.tokenizer, 64)
    batch = DataCollatorWithPadding(student.tokenizer)(list(rows.select(range(6))))
    return rows, batch, torch.from_numpy(targets)


@pytest.mark.parametrize("kind", ["contrastive", "mse+contrastive"])
def test_the_trainer_loss_is_the_loss_function_over_the_batch_and_the_bank(teacher, teacher_path, tmp_path, kind):
    student = student_from_teacher(teacher_path, [0, 1], 64)
    rows, batch, bank = contrastive_batch(teacher, student)
    args = DistillationArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none", embedding_loss=kind)
    # a bank smaller than contrastive_negatives (4096) is used whole
    trainer = EmbeddingDistillationTrainer(model=student, args=args, train_dataset=rows, target_bank=bank)
    loss = trainer.compute_loss(student, dict(batch))
    features = {name: value for name, value in batch.items() if name != TEACHER_EMBEDDING}
    embeddings, targets = student(features)["sentence_embedding"], batch[TEACHER_EMBEDDING]
    expected = embedding_contrastive(embeddings, targets, bank, args.contrastive_temperature)
    if kind == "mse+contrastive":
        expected = expected + args.embedding_mse_weight * embedding_mse(embeddings, targets)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_negatives_are_drawn_from_the_bank_at_each_step(teacher, teacher_path, tmp_path):
    student = student_from_teacher(teacher_path, [0], 64)
    rows, _, bank = contrastive_batch(teacher, student)
    args = DistillationArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", embedding_loss="contrastive", contrastive_negatives=3
    )
    trainer = EmbeddingDistillationTrainer(model=student, args=args, train_dataset=rows, target_bank=bank)
    drawn = trainer.negatives(torch.device("cpu"))
    assert drawn.shape == (3, bank.shape[1]) and all(any(torch.equal(row, b) for b in bank) for row in drawn)
    args = replace(args, contrastive_negatives=0)
    none = EmbeddingDistillationTrainer(model=student, args=args, train_dataset=rows, target_bank=bank)
    assert none.negatives(torch.device("cpu")) is None


def test_contrastive_training_ranks_each_translation_at_its_source_in_the_teachers_index(
    teacher, teacher_path, tmp_path
):
    targets = teacher_targets(teacher, PAIRS["en"])
    student = student_from_teacher(teacher_path, [0, 1], 64)
    before = score_embeddings(student, PAIRS, "en", "es", targets)
    rows = training_rows(*pair_sentences(PAIRS, targets, ["en", "es"]), student.tokenizer, 64)
    train(student, rows, tmp_path, num_train_epochs=10, embedding_loss="contrastive")
    after = score_embeddings(student, PAIRS, "en", "es", targets)
    assert before.target_to_teacher_index_mrr10 < 1.0 and after.target_to_teacher_index_top1 == 1.0


def test_each_evaluation_logs_the_retrieval_figures_for_the_curve(teacher, teacher_path, tmp_path):
    targets = teacher_targets(teacher, PAIRS["en"])
    student = student_from_teacher(teacher_path, [0, 1], 64)
    rows = training_rows(*pair_sentences(PAIRS, targets, ["en", "es"]), student.tokenizer, 64)
    calls = []

    def retrieval(model):
        calls.append(model)
        return {
            "teacher_index_top1/held out/es": score_embeddings(
                model, PAIRS, "en", "es", targets
            ).target_to_teacher_index_top1
        }

    args = DistillationArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to="none", per_device_train_batch_size=4, num_train_epochs=2,
        eval_strategy="steps", eval_steps=2, save_strategy="no", embedding_loss="contrastive",
    )  # fmt: skip
    trainer = EmbeddingDistillationTrainer(
        model=student, args=args, train_dataset=rows, eval_dataset=rows, retrieval=retrieval,
        data_collator=DataCollatorWithPadding(student.tokenizer),
    )  # fmt: skip
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "eval_teacher_index_top1/held out/es" in entry]
    assert [entry["step"] for entry in logged] == [2, 4, 6] and all(model is student for model in calls)


def test_source_sentences_from_several_sources_are_sampled_and_counted_by_kind(tmp_path):
    from hfdistill.config.parallel import ParallelDataArguments
    from hfdistill.tasks.sentence_embedding import source_mix, source_only_sentences

    (tmp_path / "mine.csv").write_text("text\none of mine\nthe light shines\nanother of mine\n")
    sources = ["bundled:transfer_text", str(tmp_path / "mine.csv")]
    data_args = ParallelDataArguments(source_sentences=sources, max_source_sentences=300, eval_pairs=2)
    sentences = source_only_sentences(data_args, {"held out": PAIRS})
    assert len(sentences) == 300 and "the light shines" not in sentences  # an evaluation sentence is left out
    assert sentences == source_only_sentences(data_args, {"held out": PAIRS})  # the draw is seeded
    mix = source_mix(data_args, sentences)
    assert set(mix["bundled:transfer_text"]) == {"nyt", "tweets", "amazon", "rt_plot"}  # the file is sorted by kind
    assert sum(sum(kinds.values()) for kinds in mix.values()) == 300
    everything = source_only_sentences(replace(data_args, max_source_sentences=None), {"held out": PAIRS})
    assert everything[-2:] == ["one of mine", "another of mine"]
    assert source_mix(data_args, everything)[str(tmp_path / "mine.csv")] == {"all": 2}
