# Two commands on a fresh machine: `make demo` and `make test`. Each makes its own venv.
PYTHON ?= python3
DEMO_VENV := .venv-demo
TEST_VENV := .venv

.PHONY: demo test lint bench clean

$(DEMO_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install --quiet --upgrade pip
	$(DEMO_VENV)/bin/pip install --quiet -e .
	touch $@

$(TEST_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install --quiet --upgrade pip
	$(TEST_VENV)/bin/pip install --quiet -e ".[test]"
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/naast demo

test: $(TEST_VENV)/.installed
	scripts/ensure-chromium
	$(TEST_VENV)/bin/pytest

lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check bot nlu handlers escalation tests benchmarks

bench: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/python benchmarks/relay_bench.py
	$(TEST_VENV)/bin/python benchmarks/nlu_bench.py
	$(TEST_VENV)/bin/python benchmarks/escalation_bench.py

clean:
	rm -rf $(DEMO_VENV) $(TEST_VENV) naast-data
