"""Schedule values `TrainingArguments` lets through but no run can use, refused before any work."""

from transformers import TrainingArguments


def check_step_intervals(args: TrainingArguments) -> None:
    """Refuse a 0 or negative interval for a 'steps' strategy (`TrainingArguments` would read 0 as unset); called
    before `TrainingArguments.__post_init__` fills the unset ones in."""
    for strategy, steps in (
        ("eval_strategy", "eval_steps"),
        ("save_strategy", "save_steps"),
        ("logging_strategy", "logging_steps"),
    ):
        value = getattr(args, steps)
        if str(getattr(args, strategy)).lower().endswith("steps") and value is not None and not value > 0:
            raise ValueError(f"{steps} must be > 0 with {strategy}='steps', got {value}")


def check_training_ranges(args: TrainingArguments) -> None:
    """Refuse the schedule values `TrainingArguments` lets through but no run can use."""
    if args.max_steps <= 0 and not args.num_train_epochs > 0:
        raise ValueError(f"num_train_epochs must be > 0 (or set max_steps), got {args.num_train_epochs}")
    if not args.learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {args.learning_rate}")
    for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps"):
        if getattr(args, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(args, name)}")
    for name in ("weight_decay", "warmup_steps", "max_grad_norm"):
        if getattr(args, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(args, name)}")
    if args.save_total_limit is not None and args.save_total_limit < 1:
        raise ValueError(
            f"save_total_limit must be >= 1 (or unset, to keep every checkpoint), got {args.save_total_limit}"
        )
