# The two commands a newcomer needs:
#   make run    install everything into .venv and start the dashboard (embedded service, sample data)
#   make test   install everything, test tools included, and run the whole test suite
.PHONY: run test setup bench

PORT ?= 8501

setup:
	@scripts/setup.sh

run: setup
	@echo "==> emolens dashboard on http://127.0.0.1:$(PORT)  (Ctrl+C to stop)"
	@HF_HUB_OFFLINE=1 STREAMLIT_BROWSER_GATHER_USAGE_STATS=false .venv/bin/python dashboard.py \
		--server.port $(PORT) --server.address 127.0.0.1 --server.headless true

test:
	@scripts/setup.sh --dev
	@echo "==> ruff check (all Python), ruff format --check and mypy (emolens/)"
	@.venv/bin/ruff check emolens bench tests app.py dashboard.py app_pages components scripts && .venv/bin/ruff format --check emolens && .venv/bin/python -m mypy emolens
	@HF_HUB_OFFLINE=1 STREAMLIT_BROWSER_GATHER_USAGE_STATS=false .venv/bin/python -m pytest tests

bench: setup
	@for b in bench/*.py; do echo "==> $$b"; .venv/bin/python $$b || exit 1; done
