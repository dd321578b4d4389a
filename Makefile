# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint gen clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pilotedge run

test: $(STAMP)
	$(PY) tools/gen_protocol.py --check
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

gen: $(STAMP)
	$(PY) tools/gen_protocol.py

clean:
	rm -rf $(VENV) build dist run
