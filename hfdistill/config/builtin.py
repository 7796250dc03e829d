"""The built-in recipes: the settings a command runs with when no flag and no `--config` says otherwise.

Each has its YAML twin in `recipes/`, kept equal by a test: `hfdistill quickstart` is `recipes/quickstart.yaml`,
the search's pair is `recipes/depth-only.yaml`, and `hfdistill train-teacher` makes the quickstart's teacher.
"""

from hfdistill.config.pipeline import STATIC_EPOCHS, STATIC_LEARNING_RATE

# The schedule every built-in recipe shares.
SCHEDULE = {
    "per_device_train_batch_size": 32,
    "per_device_eval_batch_size": 64,
    "train_sampling_strategy": "group_by_length",  # batches of similar length pad far less
    "warmup_steps": 0.1,
    "eval_strategy": "epoch",
    "save_strategy": "steps",  # a checkpoint every 100 steps: a crash loses at most 100 steps
    "save_steps": 100,
    "save_total_limit": 2,
    "logging_steps": 50,
    "report_to": "none",
}

# The depth-only student (also `recipes/depth-only.yaml`, kept equal by a test): every other layer of the teacher at
# its full width, one stage of soft targets and labels; the search's and the cost benchmarks' pair.
DEPTH_ONLY_DEFAULTS = {
    "teacher_num_train_epochs": 1.0,
    "teacher_learning_rate": 1e-4,
    "freeze_word_embeddings": True,
    "train_baseline": True,
    "output_dir": "outputs/depth-only",
    "kd_loss_weight": 0.5,
    "num_train_epochs": 2,
    "learning_rate": 1e-4,
    **SCHEDULE,
}

# The quickstart (also `recipes/quickstart.yaml`, kept equal by a test; any flag overrides it): the balanced rung of
# `recipes/balanced.yaml` (6 layers x 192, sliced from the teacher by importance, TinyBERT's two stages on the
# reviews and 8,000 transfer texts) beside its no-KD twin, with inputs cut at 64 tokens: 99% of the reviews are
# shorter, and the first stage's attention relations then stay under 2 GB.
QUICKSTART_DEFAULTS = {
    "teacher_num_train_epochs": 1.0,
    "teacher_learning_rate": 1e-4,
    "freeze_word_embeddings": False,
    "train_baseline": True,
    "intermediate_epochs": 2.0,  # first stage: hidden states, MiniLM relations and soft targets, teacher online
    "intermediate_learning_rate": 5e-4,
    "intermediate_kd_loss_weight": 1.0,
    "timing_rounds": 3,  # best of 3 rounds of CPU timing per model, not 5: about 25 s less on 2 cores
    "static_student": True,  # a row with no transformer at inference (recipes/static.yaml's), about a minute more
    "output_dir": "outputs/quickstart",
    "student_num_layers": 6,
    "student_hidden_size": 192,
    "student_intermediate_size": 768,
    "student_init": "importance",
    "kd_loss_weight": 0.5,  # second stage: soft targets and labels, from the teacher-output cache
    "hidden_loss_weight": 1.0,  # first stage only
    "attention_loss_weight": 1.0,  # first stage only
    "teacher_cache_dir": "outputs/teacher-cache",
    "num_train_epochs": 3,
    "learning_rate": 1e-4,  # second stage and the no-KD twin
    **SCHEDULE,
    "dataset_name": "bundled:rotten_tomatoes",
    "transfer_dataset": "bundled:transfer_text",
    "max_transfer_samples": 8000,
    "max_seq_length": 64,
}


# `hfdistill train-teacher` makes the quickstart's teacher: the quickstart's schedule and word embeddings, at its
# teacher's epochs and rate.
TRAIN_TEACHER_DEFAULTS = {
    **SCHEDULE,
    **{name: QUICKSTART_DEFAULTS[name] for name in ("freeze_word_embeddings", "dataset_name", "max_seq_length")},
    "num_train_epochs": QUICKSTART_DEFAULTS["teacher_num_train_epochs"],
    "learning_rate": QUICKSTART_DEFAULTS["teacher_learning_rate"],
    "output_dir": "outputs/teacher",
}


# `hfdistill distill --student_architecture static` without a rate or epochs of its own: a table of token vectors
# learns at a transformer's rate (transformers' default 5e-5) far too slowly; these are recipes/static.yaml's.
STATIC_DEFAULTS = {"learning_rate": STATIC_LEARNING_RATE, "num_train_epochs": STATIC_EPOCHS, "kd_loss_weight": 0.7}
