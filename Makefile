# Two commands do all the set-up on a fresh machine:
#   make quickstart   install, then distil on real weights and real data, offline (about 10 minutes on 2 CPU cores)
#   make test         install, then lint (ruff check, ruff format --check, lint-imports) and run the test suite
# and `make multilingual` makes the English sentence-embedding teacher multilingual (English-Spanish), offline;
# `make ner` distils a named-entity tagger on the bundled WNUT-16 tweets (recipes/ner.yaml), offline;
# `make digits` distils a small CNN from a larger one on scikit-learn's handwritten digits, offline;
# `make benchmark` measures what distillation costs against plain fine-tuning, online and with the teacher cache
# (more rounds: make benchmark BENCHMARK_ARGS="--rounds 3"), and `make frontier` the speed/accuracy frontier of
# students with and without the teacher (rung by rung: make frontier FRONTIER_ARGS="--rungs 2x192").
PYTHON ?= python3
PIP := $(PYTHON) -m pip

# torch first and pinned: on a CPU-only machine 2.13.0 is the CPU wheel; an unpinned torch pulls CUDA packages.
TORCH ?= torch==2.13.0
BENCHMARK_ARGS ?=
# Test files run in this many pytest-xdist workers, a whole file to a worker (its module fixtures are built once).
TEST_WORKERS ?= 2
FRONTIER_ARGS ?=

.PHONY: install quickstart multilingual ner digits benchmark frontier test lint

install:
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[quickstart,export,test]"

quickstart: install
	HF_HUB_OFFLINE=1 hfdistill quickstart

multilingual: install
	HF_HUB_OFFLINE=1 hfdistill multilingual

ner: install
	HF_HUB_OFFLINE=1 hfdistill distill --config recipes/ner.yaml

digits: install
	$(PYTHON) scripts/distil_digits_cnn.py

benchmark: install
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/distillation_cost.py $(BENCHMARK_ARGS)

frontier: install
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/frontier.py $(FRONTIER_ARGS)

test: install
	$(MAKE) lint
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint:
	$(PYTHON) -m ruff check . && $(PYTHON) -m ruff format --check .
	lint-imports  # the layers contract in pyproject.toml: each subpackage imports only those below it
