# Rapport — the README's two commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export RAPPORT_DATA_DIR ?= $(CURDIR)/var
PG_URL ?= postgres://postgres@127.0.0.1:5432/rapport

.PHONY: run install dev-install system-deps lint test test-sqlite test-postgres test-browser bench bench-mail bench-service-mail bench-timeline bench-orders bench-board bench-forecast bench-sla clean

## Install Rapport, create the demo workspace and serve it (web + worker) at http://127.0.0.1:8000
run: install
	$(BIN)/rapport migrate --noinput
	$(BIN)/rapport demo
	@$(BIN)/rapport worker & WORKER=$$!; trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/rapport serve --no-migrate --host 127.0.0.1 --port 8000

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev-install: $(VENV)/.dev-installed

## Debian packages the tests need (Chromium for the browser tests) and a running PostgreSQL
system-deps:
	bash scripts/system-deps.sh

lint: dev-install
	$(BIN)/ruff check rapport bench
	$(BIN)/ruff format --check rapport bench
	$(BIN)/mypy rapport
	RAPPORT_DATA_DIR=$(CURDIR)/var/test $(BIN)/rapport makemigrations --check --dry-run > /dev/null

## Everything: lint, the suite on SQLite, the suite on PostgreSQL, the browser tests
test: dev-install system-deps lint test-sqlite test-postgres test-browser

test-sqlite: dev-install
	$(BIN)/pytest -m "not browser"

test-postgres: dev-install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser"

test-browser: dev-install
	$(BIN)/pytest -m browser

## Seed contacts and companies, time the list API, search and pages; prints JSON (docs/performance.md).
## Knobs: BENCH_CONTACTS, BENCH_COMPANIES, BENCH_QUERIES (timed runs per case), BENCH_DATABASE_URL
## (PostgreSQL; that database is dropped and recreated), BENCH_DATA_DIR (keep the SQLite file there),
## BENCH_ARGS (more options, e.g. --reuse to measure again without seeding, --explain for query plans).
BENCH_CONTACTS  ?= 100000
BENCH_COMPANIES ?= 10000
BENCH_QUERIES   ?= 100
bench: install
	$(BIN)/python bench/contacts_bench.py --contacts $(BENCH_CONTACTS) --companies $(BENCH_COMPANIES) \
	  --queries $(BENCH_QUERIES) $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) \
	  $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR)) $(BENCH_ARGS)

## Sync a mailbox of BENCH_MESSAGES messages on a throwaway Dovecot (first run, then BENCH_NEW_MESSAGES
## new ones); prints JSON (docs/performance.md). Needs dovecot-imapd (make system-deps).
BENCH_MESSAGES     ?= 10000
BENCH_NEW_MESSAGES ?= 100
bench-mail: install
	$(BIN)/python bench/mailbox_bench.py --messages $(BENCH_MESSAGES) --incremental $(BENCH_NEW_MESSAGES) \
	  $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR))

## Email-to-ticket: BENCH_SERVICE_MESSAGES messages in a support mailbox on a throwaway Dovecot become
## tickets and threaded replies; prints JSON with messages/s (docs/service.md). Needs dovecot-imapd.
BENCH_SERVICE_MESSAGES ?= 2000
bench-service-mail: install
	$(BIN)/python bench/service_mail_bench.py --messages $(BENCH_SERVICE_MESSAGES) --incremental $(BENCH_NEW_MESSAGES) \
	  $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR))

## One contact with BENCH_CONTACT_ACTIVITIES activities among BENCH_ACTIVITIES: times its timeline's first
## page (selector and contact page); prints JSON (docs/performance.md). Same BENCH_DATABASE_URL,
## BENCH_DATA_DIR, BENCH_QUERIES and BENCH_ARGS (--reuse, --explain) as `make bench`.
BENCH_ACTIVITIES         ?= 200000
BENCH_CONTACT_ACTIVITIES ?= 5000
bench-timeline: install
	$(BIN)/python bench/timeline_bench.py --activities $(BENCH_ACTIVITIES) --contact-activities $(BENCH_CONTACT_ACTIVITIES) \
	  --queries $(BENCH_QUERIES) $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) \
	  $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR)) $(BENCH_ARGS)

## Bulk upsert of BENCH_ORDER_BATCHES batches of 1,000 orders x 5 lines through POST /api/v1/orders/bulk:
## first insert, unchanged re-send, 10% changed; prints JSON orders/s (docs/performance.md). Same
## BENCH_DATABASE_URL and BENCH_DATA_DIR as `make bench`; BENCH_ARGS="--via service" skips the HTTP layer.
BENCH_ORDER_BATCHES ?= 5
bench-orders: install
	$(BIN)/python bench/orders_bench.py --batches $(BENCH_ORDER_BATCHES) \
	  $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) \
	  $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR)) $(BENCH_ARGS)

## The kanban board of a pipeline with BENCH_OPEN_DEALS open deals: the board page and one column's
## fragment; prints JSON p50/p95 (docs/performance.md). Same BENCH_DATABASE_URL, BENCH_DATA_DIR and
## BENCH_QUERIES as `make bench`.
BENCH_OPEN_DEALS ?= 5000
bench-board: install
	$(BIN)/python bench/board_bench.py --deals $(BENCH_OPEN_DEALS) --queries $(BENCH_QUERIES) \
	  $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR))

## The sales forecast over BENCH_FORECAST_DEALS deals (two years, three currencies, stage histories):
## 12 months and 4 quarters by workspace, team and owner; prints JSON (docs/performance.md). Same
## BENCH_DATABASE_URL, BENCH_DATA_DIR and BENCH_QUERIES as `make bench`.
BENCH_FORECAST_DEALS ?= 100000
bench-forecast: install
	$(BIN)/python bench/forecast_bench.py --deals $(BENCH_FORECAST_DEALS) --queries $(BENCH_QUERIES) \
	  $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR))

## The SLA breach scan over BENCH_SLA_TICKETS open tickets: every minute, after an hour's and a day's
## outage; prints JSON (docs/performance.md). Same BENCH_DATABASE_URL and BENCH_DATA_DIR as `make bench`.
BENCH_SLA_TICKETS ?= 100000
bench-sla: install
	$(BIN)/python bench/service_sla_bench.py --tickets $(BENCH_SLA_TICKETS) \
	  $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) $(if $(BENCH_DATA_DIR),--data-dir $(BENCH_DATA_DIR))

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
