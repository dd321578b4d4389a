# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test hil hil-slow gen clean

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
	$(PY) tools/gen_sparkplug.py --check
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q --ignore=tests/hil
	$(MAKE) hil

# The hardware-in-the-loop suite on the virtual bench (tests/hil/rigs/bench.toml), then on a
# bench board driven only through its ports as a bare real board; results (JUnit XML, one
# folder of logs per test) under run/hil/<rig>/. On a real rig:
#   .venv/bin/pytest tests/hil --rig tests/hil/rigs/esp32_devkitc.toml --port /dev/ttyUSB0
HIL = $(PY) -m pytest -q tests/hil -rs -o junit_family=xunit1
hil: $(STAMP)
	$(HIL) -m "not slow" --rig tests/hil/rigs/bench.toml --junitxml=run/hil/bench/junit.xml \
	    --root-logdir=run/hil/bench
	$(HIL) --rig tests/hil/rigs/bare_sim.toml --port bench \
	    --junitxml=run/hil/bare-sim/junit.xml --root-logdir=run/hil/bare-sim

# HIL tests of minutes of wall time even flat out (an 8 h canister charge, 3-7 min here);
# tools/bench/canister.py measures the same charges.
hil-slow: $(STAMP)
	$(HIL) -m slow --rig tests/hil/rigs/bench.toml --root-logdir=run/hil/slow

gen: $(STAMP)
	$(PY) tools/gen_protocol.py

clean:
	rm -rf $(VENV) build dist run
