# Two commands do everything:  `make run` (set up, then open the studio)  and  `make test`.
.PHONY: run serve test setup clean

setup:
	@./build/setup.sh

run: setup
	.venv/bin/studio

serve: setup
	.venv/bin/studio serve

test: setup
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf .venv .pytest_cache
