# Two commands on a fresh machine: `make demo` and `make test` (`make test-all` adds the slow tests). Nothing else is needed before them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of PyTorch. Where this exact wheel is not at hand, a normal torch install is used.
TORCH  ?= torch==2.13.0
# The extras installed with the package: CI adds ray (make test-all EXTRAS=test,ray); without it the Ray tests skip.
EXTRAS ?= test
# Test processes (pytest-xdist): 2 for a 2-core machine; JOBS=0 runs the tests in this process, one at a time.
JOBS   ?= 2
PYTEST := $(BIN)/python -m pytest $(if $(filter 0,$(JOBS)),,-n $(JOBS))

.PHONY: demo test test-all install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)" || $(BIN)/python -m pip install --quiet torch
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

install: $(BIN)/.installed

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/bertanno demo

# The quick suite: everything but the tests marked slow, in $(JOBS) processes.
test: install
	$(PYTEST) -q -m "not slow"

# Everything, the slow end-to-end tests included: what CI runs.
test-all: install
	$(PYTEST) -q --durations=25

clean:
	rm -rf $(VENV) bertanno-demo *.egg-info
