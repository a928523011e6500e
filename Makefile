.PHONY: demo test lint bench up
demo:
	scripts/demo.sh
test:
	scripts/test.sh
lint:
	.venv/bin/ruff check worker tasks tests bench && .venv/bin/mypy
bench:
	.venv/bin/python bench/extraction.py && .venv/bin/python bench/throughput.py && .venv/bin/python bench/ecbplus.py
up:
	docker compose up
