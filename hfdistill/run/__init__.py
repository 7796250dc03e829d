"""The run on top: the one pipeline (`run_pipeline`), the stages of each kind of task, the one-stage commands and
the search."""
