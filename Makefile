# Two commands on a fresh machine: `make demo` and `make test`. Nothing else is needed before them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of PyTorch. Where this exact wheel is not at hand, a normal torch install is used.
TORCH  ?= torch==2.13.0

.PHONY: demo test install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)" || $(BIN)/python -m pip install --quiet torch
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/bertanno demo

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) bertanno-demo *.egg-info
