# The two commands of a fresh clone (Python 3.11+ is all they need); scripts/dev.py does the work,
# so `python3 scripts/dev.py run` and `python3 scripts/dev.py test` do the same without make.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: run test

run:
	$(PYTHON) scripts/dev.py run

test:
	$(PYTHON) scripts/dev.py test $(PYTEST_ARGS)
