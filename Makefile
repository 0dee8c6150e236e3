# Shortcuts for the README's two commands (which work without make, too).
.PHONY: demo test lint setup clean deb

setup:
	@scripts/setup

demo:
	scripts/demo

test:
	scripts/test

lint:
	scripts/lint

# The Debian packages (faro, faro-broker) into dist/deb/, lintian-checked: docs/packaging.md
deb:
	packaging/build-deb

clean:
	rm -rf .venv test-artifacts .pytest_cache
