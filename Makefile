# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
UNDERTOW := $(VENV)/bin/undertow

.PHONY: setup demo test encoder model bench eval

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(UNDERTOW) demo

test: setup
	$(PY) -m pytest -q

# Fine-tune the sentence encoder's layers on the training sets (extractor/encoder_training.py,
# 17 minutes on 2 cores) into build/encoder.npz. An experiment: the package embeds with the
# shipped layers (eval/RESULTS.md, "The tuned encoder").
encoder: setup
	$(PY) -m undertow.extractor.encoder_training build/encoder.npz

# Rebuild the classifier that ships in the package, from eval/data and eval/data/real, with the
# default TrainingConfig (extractor/card.py); the same checkout gives the same bytes.
model: setup
	$(PY) -m undertow.extractor.make_model extractor/model/local.npz

eval: setup
	$(UNDERTOW) eval eval/data/dev.jsonl --backend local

bench: setup
	$(UNDERTOW) bench
