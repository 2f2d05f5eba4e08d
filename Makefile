# Two commands: `make run` (the whole service, embedded) and `make test` (everything CI runs).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint run bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 resolves to the local CPU wheel through PIP_FIND_LINKS (see ENV.md)
	$(PY) -m pip install --quiet $${PIP_FIND_LINKS:+--find-links "$$PIP_FIND_LINKS"} -e '.[dev]'
	bash scripts/ensure_allocator.sh
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: lint
	bash scripts/ensure_server_binaries.sh
	$(VENV)/bin/pytest -q

# The embedded service: SQLite, a folder broker, the API on 127.0.0.1:8000 and one worker.
run: $(STAMP)
	$(PY) scripts/run_embedded.py

bench: $(STAMP)
	$(PY) bench/supernet_step.py

clean:
	rm -rf $(VENV) .pytest_cache
