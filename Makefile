# Two commands do all the set-up on a fresh machine:
#   make quickstart   install, then distil on real weights and real data, offline (about 18 minutes on 2 CPU cores)
#   make test         install, then lint (ruff check, ruff format --check, lint-imports), build the docs strictly and run
#                     the test suite (the code blocks of README.md and docs/ included)
# and `make multilingual` makes the English sentence-embedding teacher multilingual (English-Spanish), offline, and
# `make multilingual-static` does it with a static student (no transformer at inference, about 3 minutes);
# `make ner` distils a named-entity tagger on the bundled WNUT-16 tweets (recipes/ner.yaml), offline;
# `make regression` a scorer of how positive a review is (recipes/regression.yaml) and `make multi-label` a tagger of
# the kinds of entity a tweet names (recipes/multi-label.yaml), offline;
# `make digits` distils a small CNN from a larger one on scikit-learn's handwritten digits, the student seeing 10% of
# the labels and the teacher's soft targets on the rest (about a minute), offline;
# `make benchmark` measures what distillation costs against plain fine-tuning, online and with the teacher cache
# (more rounds: make benchmark BENCHMARK_ARGS="--rounds 3"), and `make frontier` the speed/accuracy frontier of
# students with and without the teacher (rung by rung: make frontier FRONTIER_ARGS="--rungs 2x192").
PYTHON ?= python3
PIP := $(PYTHON) -m pip
# pip warns on every install run as root (containers, CI); the install is into the environment chosen on purpose.
export PIP_ROOT_USER_ACTION := ignore

# torch first and pinned: on a CPU-only machine 2.13.0 is the CPU wheel; an unpinned torch pulls CUDA packages.
TORCH ?= torch==2.13.0
BENCHMARK_ARGS ?=
# Test files run in this many pytest-xdist workers, a whole file to a worker (its module fixtures are built once).
TEST_WORKERS ?= 2
FRONTIER_ARGS ?=

.PHONY: install quickstart multilingual multilingual-static ner regression multi-label digits benchmark frontier test lint docs docs-serve docs-check

install:
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[quickstart,export,test,docs]"

quickstart: install
	HF_HUB_OFFLINE=1 hfdistill quickstart

multilingual: install
	HF_HUB_OFFLINE=1 hfdistill multilingual

multilingual-static: install
	HF_HUB_OFFLINE=1 hfdistill multilingual --student_architecture static

ner: install
	HF_HUB_OFFLINE=1 hfdistill distill --config recipes/ner.yaml

regression: install
	HF_HUB_OFFLINE=1 hfdistill distill --config recipes/regression.yaml

multi-label: install
	HF_HUB_OFFLINE=1 hfdistill distill --config recipes/multi-label.yaml

digits: install
	$(PYTHON) scripts/distil_digits_cnn.py

benchmark: install
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/distillation_cost.py $(BENCHMARK_ARGS)

frontier: install
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/frontier.py $(FRONTIER_ARGS)

test: install
	$(MAKE) lint
	$(MAKE) docs
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist loadfile
	# The docs' code blocks, alone: with --markdown-docs pytest imports every .py file it is given, for its docstrings
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q README.md docs --markdown-docs --markdown-docs-syntax=superfences

lint:
	$(PYTHON) -m ruff check . && $(PYTHON) -m ruff format --check .
	lint-imports  # the layers contract in pyproject.toml: each subpackage imports only those below it

# The docs site: every result table rendered from benchmarks/*.json at build time; --strict fails on a broken link,
# a missing page or an unresolved API reference.
docs:
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict --quiet

docs-serve:
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs serve

# The built site in a real browser (Debian's chromium, headless): screenshots of two pages and a search; not in CI.
docs-check: docs
	$(PIP) install --quiet -e ".[browser]"
	$(PYTHON) scripts/docs_check.py --site site --out site-check
