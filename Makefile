# Set-up is part of every target: a fresh clone needs only `make test` or `make demo`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KERNEL_SOURCES := $(wildcard src/obcore/_kernels/*.pyx)

.PHONY: install test bench demo conformance clean

install: $(STAMP)

$(STAMP): pyproject.toml setup.py $(KERNEL_SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	bash scripts/ensure_chromium.sh
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pytest -q bench -o python_files="bench_*.py" --benchmark-only --benchmark-columns=median,ops,rounds --benchmark-sort=name

demo: $(STAMP)
	$(PY) -m obmcp.demo

conformance: $(STAMP)
	bash scripts/conformance.sh

clean:
	rm -rf build src/obcore/_kernels/*.c src/obcore/_kernels/*.so
