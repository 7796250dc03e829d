"""Pushing a saved student folder to the Hugging Face Hub with huggingface_hub.

The token comes from where huggingface_hub looks for it (`--hub_token`, `HF_TOKEN`, or `hf auth login`'s cache) and
is passed to the client only: it is never logged or written into a report or card. `HF_ENDPOINT` points the client
at another Hub (a mirror, an enterprise Hub, or a local test server).
"""

import logging
from pathlib import Path

from huggingface_hub import HfApi

from hfdistill.config.training import DistillationArguments

logger = logging.getLogger(__name__)

# Training leftovers that do not belong in a model repository.
NOT_PUSHED = ["checkpoint-*/**", "runs/**", "training_args.bin", "*.tmp"]


def check_model_folder(folder: Path) -> None:
    """Raise `ValueError` naming what is missing when `folder` is not a complete model folder."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: push a saved model folder (e.g. outputs/quickstart/student)")
    missing = [name for name in ("config.json", "README.md") if not (folder / name).is_file()]
    if not list(folder.glob("*.safetensors")):
        missing.append("*.safetensors")
    if missing:
        raise ValueError(f"{folder} lacks {', '.join(missing)}: push a folder that hfdistill saved, with its card")


def push_folder(
    folder: str | Path,
    repo_id: str,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Upload a student distilled with hfdistill",
) -> str:
    """Create `repo_id` if needed (private when asked) and upload `folder` to it in one commit; return the commit URL."""
    folder = Path(folder)
    check_model_folder(folder)
    api = HfApi(token=token)
    repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    logger.info("pushing %s to %s%s", folder, repo.repo_id, " (private)" if private else "")
    commit = api.upload_folder(
        repo_id=repo.repo_id,
        folder_path=folder,
        commit_message=commit_message,
        ignore_patterns=NOT_PUSHED,
    )
    logger.info("pushed: %s", commit.commit_url)
    return commit.commit_url


def push_student(args: DistillationArguments, folder: str | Path) -> str | None:
    """Push the student `folder` (with its card) when `push_to_hub` is set; the URL of the commit, or None."""
    if not args.push_to_hub:
        return None
    repo_id = args.hub_model_id or Path(args.output_dir).name
    return push_folder(folder, repo_id, args.hub_private_repo, args.hub_token)
