"""A catalogue of bad inputs, across every command: each is refused before any work with exit status 2 and one line
on stderr that says what to fix, no traceback, no model trained, and nothing the user had changed."""

from pathlib import Path

import pandas as pd
import pytest
from transformers import PreTrainedModel

from hfdistill.cli import main
from tests.conftest import write_teacher_and_reviews


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A tiny teacher, good and broken data files and folders, all in one folder."""
    folder = tmp_path_factory.mktemp("inputs")
    good = write_teacher_and_reviews(folder)
    good.assign(text=[""] * 3 + list(good.text[3:])).to_csv(folder / "empty_text.csv", index=False)
    good.assign(label=[None] * 2 + list(good.label[2:])).to_csv(folder / "empty_label.csv", index=False)
    good.assign(label=[["neg", "pos", "mixed"][k % 3] for k in range(60)]).to_csv(folder / "three.csv", index=False)
    good.assign(label=[k / 7 for k in range(60)]).to_csv(folder / "scores.csv", index=False)
    lines = (folder / "data.csv").read_text().splitlines()
    (folder / "ragged.csv").write_text("\n".join([*lines[:5], lines[5] + ",extra,more", *lines[6:]]) + "\n")
    (folder / "empty.csv").write_text("")
    (folder / "data.xyz").write_text("text,label\n")
    (folder / "broken_teacher").mkdir()
    (folder / "broken_teacher" / "config.json").write_text("{not json")
    (folder / "no_config").mkdir()
    (folder / "afile").write_text("a file, not a folder")
    (folder / "pairs.tsv").write_text("Hello\tHola\nBye\tAdiós\nYes\tSí\nNo\tNo\n", encoding="utf-8")
    (folder / "broken.yaml").write_text("temperature: [3.0\n")
    (folder / "typo.yaml").write_text("temprature: 3.0\n")
    (folder / "list.yaml").write_text("- 1\n- 2\n")
    lines = (folder / "data.csv").read_text().splitlines()  # the label column twice
    (folder / "twice.csv").write_text("\n".join([lines[0] + ",label", *(line + ",pos" for line in lines[1:])]) + "\n")
    good.assign(label=["loc|per", "loc"] * 30).to_csv(folder / "joined.csv", index=False)
    pd.DataFrame({"tokens": ["anna is in paris"] * 20, "ner_tags": [["B-per", "O", "O", "B-loc"]] * 20}).to_json(
        folder / "sentences.jsonl", orient="records", lines=True
    )  # the words as one string, not a list
    return folder


def snapshot(folder: Path) -> dict:
    """Every file under `folder`: its size and modification time."""
    return {str(path): (path.stat().st_size, path.stat().st_mtime_ns) for path in sorted(folder.rglob("*"))}


PLAIN = [
    "distill",
    "--teacher_name_or_path",
    "{teacher}",
    "--dataset_name",
    "{inputs}/data.csv",
    "--output_dir",
    "{out}",
]
DISTILL = [*PLAIN, "--teacher_num_train_epochs", "0", "--student_num_layers", "1"]
MULTILINGUAL = ["multilingual", "--dataset_name", "{inputs}/pairs.tsv", "--eval_pairs", "2", "--output_dir", "{out}"]
QUICKSTART = ["quickstart", "--output_dir", "{out}"]
# the checks of a full-width student in one stage, whose defaults the quickstart's no longer are
DEPTH_ONLY = [
    "distill",
    "--config",
    str(Path(__file__).parents[2] / "recipes" / "depth-only.yaml"),
    "--output_dir",
    "{out}",
]
SEARCH = ["search", *DISTILL[1:]]  # the same teacher, data, output and student flags
EVALUATE = ["evaluate", "--teacher", "{teacher}", "--students", "{teacher}", "--dataset_name", "{inputs}/data.csv"]

CASES = [
    # ---- quickstart: the built-in defaults with one bad flag
    (QUICKSTART + ["--temperature", "0"], "temperature must be > 0, got 0.0"),
    (QUICKSTART + ["--temperature", "-2"], "temperature must be > 0, got -2.0"),
    (QUICKSTART + ["--kd_loss_weight", "2"], "kd_loss_weight must be in [0, 1], got 2.0"),
    (QUICKSTART + ["--text_column", "review"], "column 'review' not found"),
    (QUICKSTART + ["--label_column", "stars"], "column 'stars' not found"),
    (DEPTH_ONLY + ["--student_layers", "0", "9"], "student_layers [9] out of range"),
    (QUICKSTART + ["--student_num_layers", "0"], "student_num_layers must be >= 1, got 0"),
    # ---- a static student has no layers, heads or attention, and reads a whole text as one vector
    (PLAIN + ["--student_architecture", "static", "--student_num_layers", "2"], "--student_num_layers describe a"),
    (PLAIN + ["--student_architecture", "static", "--hidden_loss_weight", "1"], "has no layers, heads or attention"),
    (PLAIN + ["--student_architecture", "static", "--student_init", "importance"], "--student_init importance"),
    (PLAIN + ["--student_architecture", "static", "--task", "token-classification"], "cannot label"),
    (PLAIN + ["--static_learning_rate", "0.01"], "static_learning_rate is the static student's"),
    (PLAIN + ["--static_student", "true", "--static_dimensions", "0"], "static_dimensions must be > 0, got 0"),
    (PLAIN + ["--static_student", "true", "--static_dimensions", "1000"], "--static_dimensions 1000 is wider"),
    (QUICKSTART + ["--student_hidden_size", "100"], "is not a multiple of student_num_attention_heads 3"),
    (QUICKSTART + ["--student_hidden_size", "512"], "cannot be wider than it: hidden 512"),
    (QUICKSTART + ["--hidden_loss_weight", "-1"], "hidden_loss_weight must be >= 0, got -1.0"),
    (
        QUICKSTART + ["--attention_loss_weight", "1", "--attention_loss", "kl", "--student_hidden_size", "192"],
        "attention_loss='kl' needs equal head counts",
    ),
    (
        DEPTH_ONLY + ["--hidden_loss_weight", "1", "--distill_layer_map", "0", "6"],
        "distill_layer_map has 2 entries but the student has 4",
    ),
    (QUICKSTART + ["--attention_loss_weight", "1", "--relation_heads", "5"], "relation_heads=5 must divide both"),
    (DEPTH_ONLY + ["--student_name_or_path", "x", "--student_hidden_size", "192"], "--student_hidden_size shape"),
    (QUICKSTART + ["--student_name_or_path", "x", "--student_init", "random"], "--student_init random shape"),
    (QUICKSTART + ["--student_name_or_path", "x", "--student_init", "importance"], "--student_init importance"),
    (QUICKSTART + ["--transfer_dataset", "missing.txt"], "dataset file missing.txt does not exist"),
    (QUICKSTART + ["--augment_copies", "-1"], "augment_copies must be >= 0, got -1"),
    (DEPTH_ONLY + ["--distill_layer_map", "0", "1", "3", "6"], "--distill_layer_map only shape the intermediate"),
    (DEPTH_ONLY + ["--task", "token-classification"], "column 'tokens' not found in split 'train'"),
    (DEPTH_ONLY + ["--task", "token-classification", "--augment_copies", "2"], "does not tag word by word"),
    (QUICKSTART + ["--timing_rounds", "0"], "timing_rounds must be >= 1, got 0"),
    (QUICKSTART + ["--validation_size", "1.5"], "validation_size must be in (0, 1), got 1.5"),
    (QUICKSTART + ["--validation_size", "0.5", "--test_size", "0.5"], "must leave data to train on"),
    (QUICKSTART + ["--max_seq_length", "1"], "max_seq_length must be >= 2, got 1"),
    (DISTILL + ["--max_seq_length", "512"], "--max_seq_length 512 is longer than the teacher's 128 positions"),
    (SEARCH + ["--max_seq_length", "512"], "--max_seq_length 512 is longer than the teacher's 128 positions"),
    (QUICKSTART + ["--max_train_samples", "0"], "max_train_samples must be >= 1, got 0"),
    (QUICKSTART + ["--teacher_dtype", "int8"], "argument --teacher_dtype/--teacher-dtype: invalid choice: 'int8'"),
    (QUICKSTART + ["--teacher_cache_top_k", "0"], "teacher_cache_top_k must be >= 1, got 0"),
    (QUICKSTART + ["--config", "{inputs}/nowhere.yaml"], "recipe {inputs}/nowhere.yaml does not exist"),
    (QUICKSTART + ["--config", "{inputs}/broken.yaml"], "cannot parse recipe"),
    (QUICKSTART + ["--config", "{inputs}/typo.yaml"], "unknown key 'temprature' in recipe"),
    (QUICKSTART + ["--config", "{inputs}/list.yaml"], "must be a mapping of field names to values, got list"),
    # ---- schedule values TrainingArguments lets through
    (DISTILL + ["--num_train_epochs", "-1"], "num_train_epochs must be > 0 (or set max_steps), got -1.0"),
    (DISTILL + ["--num_train_epochs", "0"], "num_train_epochs must be > 0 (or set max_steps), got 0.0"),
    (DISTILL + ["--learning_rate", "0"], "learning_rate must be > 0, got 0.0"),
    (DISTILL + ["--per_device_train_batch_size", "0"], "per_device_train_batch_size must be >= 1, got 0"),
    (DISTILL + ["--gradient_accumulation_steps", "0"], "gradient_accumulation_steps must be >= 1, got 0"),
    (DISTILL + ["--weight_decay", "-0.1"], "weight_decay must be >= 0, got -0.1"),
    (DISTILL + ["--save_total_limit", "0"], "save_total_limit must be >= 1"),
    (DISTILL + ["--eval_strategy", "steps", "--eval_steps", "0"], "eval_steps must be > 0 with eval_strategy"),
    (DISTILL + ["--save_steps", "0"], "save_steps must be > 0 with save_strategy='steps', got 0"),
    # ---- data
    (DISTILL + ["--dataset_name", "{inputs}/empty_text.csv"], "3 of 60 rows of split 'train'"),
    (DISTILL + ["--dataset_name", "{inputs}/empty_label.csv"], "have an empty text or label (rows 1, 2,"),
    (DISTILL + ["--dataset_name", "{inputs}/ragged.csv"], "cannot read {inputs}/ragged.csv as csv"),
    (DISTILL + ["--dataset_name", "{inputs}/empty.csv"], "cannot read {inputs}/empty.csv as csv: No columns"),
    (DISTILL + ["--dataset_name", "{inputs}/data.xyz"], "cannot read .xyz; give a .csv/.tsv/"),
    (DISTILL + ["--dataset_name", "{inputs}/nowhere.csv"], "dataset file {inputs}/nowhere.csv does not exist"),
    (DISTILL + ["--dataset_name", "someone/no-such-dataset"], "could not be loaded from the Hub"),
    (DISTILL + ["--dataset_name", "{inputs}/three.csv"], "predicts 2 labels but the data has 3"),
    (DISTILL + ["--train_split", "training"], "split 'training' not found"),
    # ---- models and folders
    (DISTILL + ["--teacher_name_or_path", "{inputs}/nowhere"], "--teacher_name_or_path {inputs}/nowhere does not"),
    (DISTILL + ["--teacher_name_or_path", "no-such-model"], "is not a local folder and could not be fetched"),
    (DISTILL + ["--teacher_name_or_path", "{inputs}/broken_teacher"], "config.json is not valid JSON"),
    (DISTILL + ["--teacher_name_or_path", "{inputs}/no_config"], "holds no config.json"),
    (
        [*PLAIN, "--teacher_num_train_epochs", "1", "--student_name_or_path", "./nowhere"],
        "--student_name_or_path ./nowhere does not exist",
    ),
    (DISTILL + ["--output_dir", "{inputs}/afile"], "--output_dir {inputs}/afile is a file"),
    (DISTILL + ["--output_dir", "{inputs}/afile/run"], "lies under the file {inputs}/afile"),
    (DISTILL + ["--teacher_cache_dir", "{inputs}/afile"], "--teacher_cache_dir {inputs}/afile is a file"),
    (
        ["train-teacher", "--teacher_name_or_path", "{inputs}/nowhere", "--output_dir", "{out}"],
        "--teacher_name_or_path {inputs}/nowhere does not exist",
    ),
    (
        ["cache-teacher", "--teacher_name_or_path", "{teacher}", "--dataset_name", "{inputs}/data.csv"],
        "needs --teacher_name_or_path",
    ),
    (EVALUATE + ["--teacher", "{inputs}/nowhere"], "--teacher {inputs}/nowhere does not exist"),
    (EVALUATE + ["--students", "{inputs}/broken_teacher"], "--students {inputs}/broken_teacher: config.json"),
    (EVALUATE + ["--dataset_name", "{inputs}/nowhere.csv"], "dataset file {inputs}/nowhere.csv does not exist"),
    (EVALUATE + ["--timing_rounds", "0"], "timing_rounds must be >= 1, got 0"),
    (
        DISTILL + ["--dataset_name", "{inputs}/scores.csv", "--task", "text-classification"],
        "one of a few labels; for scores use --task text-regression",
    ),
    (DISTILL + ["--dataset_name", "{inputs}/scores.csv"], "predicts 2 labels but the data has 1 (['label'])"),
    (DISTILL + ["--embedding_loss", "contrastive"], "--embedding_loss apply to sentence embeddings"),
    (EVALUATE + ["--mode", "embeddings"], "--mode embeddings: the teacher is a text-classification model"),
    (EVALUATE + ["--task", "token-classification"], "--task token-classification: the teacher"),
    (["export", "--folder", "{inputs}/no_config"], "is not a saved model folder"),
    (["export", "--folder", "{teacher}", "--dataset_name", "{inputs}/nowhere.csv"], "nowhere.csv does not exist"),
    (["push", "--folder", "{inputs}/nowhere", "--repo_id", "me/x"], "is not a folder"),
    (["push", "--folder", "{teacher}", "--repo_id", "me/x"], "lacks README.md"),
    # ---- multilingual
    (MULTILINGUAL + ["--temperature", "4"], "--temperature apply to distilling logits"),
    (MULTILINGUAL + ["--embedding_loss", "cosine"], "--embedding-loss: invalid choice: 'cosine'"),
    (MULTILINGUAL + ["--contrastive_temperature", "0"], "contrastive_temperature must be > 0, got 0.0"),
    (MULTILINGUAL + ["--contrastive_negatives", "-1"], "contrastive_negatives must be >= 0, got -1"),
    (MULTILINGUAL + ["--embedding_mse_weight", "-1"], "embedding_mse_weight must be >= 0, got -1.0"),
    (MULTILINGUAL + ["--eval_pairs", "5"], "eval_pairs=5 leaves nothing to train on"),
    (MULTILINGUAL + ["--target_columns", "es", "fr"], "line 1: 2 fields, expected 3 (en, es, fr)"),
    (  # the static command's defaults read no English alone
        MULTILINGUAL + ["--student_architecture", "static", "--max_source_sentences", "5"],
        "max_source_sentences limits",
    ),
    (MULTILINGUAL + ["--source_sentences", "nowhere.csv"], "nowhere.csv does not exist"),
    (
        MULTILINGUAL + ["--source_sentences", "bundled:transfer_text", "--source_sentences_column", "sentence"],
        "column 'sentence' not found in source sentences bundled:transfer_text",
    ),
    (MULTILINGUAL + ["--kd_loss_weight", "0.9", "--hidden_loss_weight", "1"], "--kd_loss_weight, --hidden"),
    (MULTILINGUAL + ["--student_name_or_path", "{inputs}/nowhere"], "--student_name_or_path {inputs}/nowhere"),
    (MULTILINGUAL + ["--output_dir", "{inputs}/afile"], "--output_dir {inputs}/afile is a file"),
    (MULTILINGUAL + ["--train_baseline", "true"], "apply to task distillation, not to multilingual"),
    (MULTILINGUAL + ["--student_hidden_size", "192"], "--student_hidden_size shape a built task student"),
    (
        MULTILINGUAL + ["--student_architecture", "static", "--student_num_layers", "2"],
        "--student_architecture static takes no --student_num_layers",
    ),
    (
        MULTILINGUAL + ["--student_architecture", "static", "--freeze_word_embeddings", "true"],
        "takes no --freeze_word_embeddings true",
    ),
    # ---- search
    (SEARCH + ["--temperature_range", "8", "2"], "--temperature_range 8.0 2.0: low is above high"),
    (
        SEARCH + ["--intermediate_epochs", "1", "--hidden_loss_weight", "1", "--search_params", "hidden_loss_weight"],
        "with --intermediate_epochs the search varies the second stage",
    ),
    (SEARCH + ["--intermediate_epochs", "1"], "intermediate_epochs is a first stage of hidden-state and attention"),
    (SEARCH + ["--temperature_range", "0", "2"], "a temperature must be > 0"),
    (SEARCH + ["--kd_loss_weight_range", "0.2", "1.5"], "a loss weight must lie in [0, 1]"),
    (SEARCH + ["--temperature_range", "2"], "--temperature_range takes two numbers"),
    (SEARCH + ["--search_params", "temperature", "tau"], "search_params names ['tau'], which cannot be searched"),
    (SEARCH + ["--n_trials", "0"], "n_trials must be >= 1"),
    (SEARCH + ["--learning_rate_range", "0", "1e-4"], "a learning rate must be > 0"),
    (SEARCH + ["--save_strategy", "steps"], "a search resumes trial by trial"),
    (SEARCH + ["--save_steps", "20"], "--save_steps acts only with --save_strategy steps, and save_strategy is 'no'"),
    (DISTILL + ["--eval_steps", "5"], "--eval_steps acts only with --eval_strategy steps"),
    (SEARCH + ["--train_baseline", "true"], "train_baseline applies to `distill`"),
    (DISTILL + ["--intermediate_epochs", "-1"], "intermediate_epochs must be >= 0, got -1.0"),
    (DISTILL + ["--intermediate_epochs", "1"], "intermediate_epochs is a first stage of hidden-state and attention"),
    (DISTILL + ["--intermediate_learning_rate", "1e-3"], "intermediate_learning_rate is the first stage's"),
    (
        DISTILL + ["--intermediate_epochs", "1", "--intermediate_learning_rate", "0"],
        "intermediate_learning_rate must be > 0",
    ),
    (DISTILL + ["--intermediate_kd_loss_weight", "1"], "intermediate_kd_loss_weight is the first stage's"),
    (
        DISTILL + ["--baseline_learning_rate", "1e-3", "--train_baseline", "false"],
        "baseline_learning_rate is the no-KD baseline's",
    ),
    (DISTILL + ["--train_baseline", "true", "--baseline_learning_rate", "0"], "baseline_learning_rate must be > 0"),
    (
        DISTILL + ["--intermediate_epochs", "1", "--intermediate_kd_loss_weight", "1.5"],
        "intermediate_kd_loss_weight must be in [0, 1], got 1.5",
    ),
    (
        DISTILL + ["--hidden_loss_weight", "1", "--teacher_cache_dir", "{out}-cache"],
        "train them in a first stage with --intermediate_epochs N",
    ),
    (MULTILINGUAL + ["--intermediate_epochs", "2"], "intermediate_epochs apply to task distillation"),
    (SEARCH + ["--search_params", "hidden_loss_weight", "--teacher_cache_dir", "{inputs}/afile"], "afile"),
    (SEARCH + ["--dataset_name", "{inputs}/ragged.csv"], "ragged.csv"),
    # ---- the files users have, and the task their label column implies (regression, multi-label)
    (DISTILL + ["--dataset_name", "{inputs}/twice.csv"], "the header names column 'label' 2 times"),
    (
        DISTILL + ["--dataset_name", "{inputs}/sentences.jsonl", "--task", "token-classification"],
        "column 'tokens' of split 'train' in {inputs}/sentences.jsonl holds a string per row ('anna is in paris'), not "
        "a list of words",
    ),
    (
        MULTILINGUAL + ["--target_columns", "fr", "--dataset_name", "bundled:bible_ot_en_es"],
        "bundled:bible_ot_en_es holds the columns ['en', 'es'], not 'fr'",
    ),
    (MULTILINGUAL + ["--target_columns", "fr"], "bundled:bible_nt_en_es holds the columns ['en', 'es'], not 'fr'"),
    (SEARCH + ["--storage", "sqlite:///{inputs}"], "names a folder: name a database file in it"),
    (SEARCH + ["--storage", "{inputs}/study.db"], "is not a storage URL"),
    (SEARCH + ["--storage", "sqlite:///{inputs}/nowhere/study.db"], "nowhere does not exist"),
    (
        DISTILL + ["--dataset_name", "{inputs}/scores.csv", "--temperature", "3"],
        "temperature 3.0 does not apply to regression",
    ),
    (
        SEARCH + ["--dataset_name", "{inputs}/scores.csv", "--teacher_num_train_epochs", "1"],
        "--search_params temperature: text-regression has no temperature",
    ),
    (
        DISTILL + ["--dataset_name", "{inputs}/data.csv", "--task", "text-regression"],
        "holds str values such as 'neg', not scores",
    ),
    (
        DISTILL
        + ["--dataset_name", "{inputs}/joined.csv", "--task", "multi-label-classification", "--label_column", "label"],
        "not lists of labels: pass --label_separator",
    ),
    (DISTILL + ["--dataset_name", "{inputs}/joined.csv", "--label_separator", ""], "label_separator is empty"),
    (DISTILL + ["--dataset_name", "{inputs}/data.csv", "--label_column", "nope"], "column 'nope' not found"),
    (DISTILL + ["--task", "ranking"], "invalid choice: 'ranking'"),
    (DISTILL + ["--label_threshold", "1.5"], "label_threshold must be in (0, 1), got 1.5"),
    (DISTILL + ["--label_separator", "|", "--task", "text-classification"], "--label_separator read sets of labels"),
    (
        DISTILL + ["--tune_label_threshold", "true"],
        "--tune_label_threshold read sets of labels (multi-label classification), which text-classification",
    ),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[f"{case[0][0]}-{i}" for i, case in enumerate(CASES)])
def test_a_bad_input_is_one_line_before_any_work(inputs, tmp_path, capsys, monkeypatch, argv, message):
    values = {"inputs": str(inputs), "teacher": str(inputs / "teacher"), "out": str(tmp_path / "run")}
    argv = [part.format(**values) for part in argv]
    before = snapshot(inputs), snapshot(tmp_path)

    def no_model(*args, **kwargs):  # every check comes before the first model's weights are read
        raise AssertionError(f"a model was loaded before the refusal ({args[0] if args else kwargs})")

    monkeypatch.setattr(PreTrainedModel, "from_pretrained", classmethod(no_model))
    try:
        status = main(argv)
    except SystemExit as exit_info:  # argparse's own refusals (an unknown choice) exit with its usage and one line
        status = exit_info.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith(f"hfdistill {argv[0]}: error: ") and message.format(**values) in last, last
    assert (snapshot(inputs), snapshot(tmp_path)) == before  # nothing written, nothing trained


def test_the_catalogue_is_large():
    assert len(CASES) >= 50


def test_incomplete_rows_can_be_dropped_with_a_warning(inputs, tmp_path, caplog):
    argv = [part.format(inputs=inputs, teacher=inputs / "teacher", out=tmp_path / "run") for part in DISTILL]
    argv += ["--dataset_name", str(inputs / "empty_text.csv"), "--drop_incomplete_rows", "true", "--max_steps", "1"]
    argv += ["--report_to", "none", "--timing_rounds", "1", "--save_strategy", "no", "--use_cpu", "true"]
    assert main(argv) == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "left out" in r.getMessage()]
    assert warned and "3 of 60 rows" in warned[0]
