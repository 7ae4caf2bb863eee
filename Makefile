# Two commands do everything:  `make run` (set up, then open the studio)  and  `make test`.
.PHONY: run serve test setup bundle smoke clean

setup:
	@./build/setup.sh

run: setup
	.venv/bin/studio

serve: setup
	.venv/bin/studio serve

test: setup
	QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest $(PYTEST_ARGS)

# The desktop app as one folder (dist/studio/) and a .tar.gz, with PyInstaller; see README.
bundle: setup
	./build/bundle/build.sh

# Runs the bundle from a copy unpacked elsewhere, with no virtualenv (CI does this after `make bundle`).
smoke:
	./build/bundle/smoke.sh

clean:
	rm -rf .venv .pytest_cache .pyinstaller dist
