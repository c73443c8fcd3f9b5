# Warta — the two commands are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install lock messages lint bench clean

run: install
	$(BIN)/warta run

test: install
	bash scripts/test

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# Re-pin after editing pyproject.toml's dependencies (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11 --generate-hashes -q
	# WeasyPrint asks for fonttools[woff]; pip 23 in --require-hashes mode takes a bare
	# "fonttools==…" pin as not covering the extra and fetched the newest fonttools for it, then
	# refused it as unpinned (2026-12-06). The pin names the extra.
	sed -i 's/^fonttools==/fonttools[woff]==/' requirements.lock

messages: install
	cd warta && ../$(BIN)/warta makemessages -l en --no-obsolete --ignore 'static/*' && ../$(BIN)/warta compilemessages -l en

lint: install
	$(BIN)/ruff check warta tests bench
	$(BIN)/mypy

bench: install
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
