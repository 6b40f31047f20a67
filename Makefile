# s4 developer entry points. `make demo` on a fresh machine sets everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test bench clean

setup:
	bash scripts/setup.sh

demo: setup
	$(VENV)/bin/s4 demo

test: setup
	$(PY) -m pytest -q test

bench: setup
	$(VENV)/bin/s4 bench

clean:
	rm -rf build out
