# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION ?= 20

.PHONY: run test bench sim synth clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(VENV)/bin/diva run

test: $(STAMP_TEST)
	$(PY) -m pytest -n auto -q

bench: $(STAMP_TEST)
	$(PY) -m bench

sim: $(STAMP_TEST)
	$(VENV)/bin/diva sim

synth: $(STAMP_TEST)
	$(VENV)/bin/diva synth --out cdk.out

clean:
	rm -rf $(VENV) .diva cdk.out .pytest_cache
