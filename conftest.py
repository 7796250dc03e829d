"""The code blocks of README.md and docs/ run in `make test` (pytest-markdown-docs); their fixtures are the suite's."""

from tests.conftest import docs_workdir  # noqa: F401
