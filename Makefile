# Shortcuts for the README's two commands (which work without make, too).
.PHONY: demo test lint setup clean

setup:
	@scripts/setup

demo:
	scripts/demo

test:
	scripts/test

lint:
	scripts/lint

clean:
	rm -rf .venv test-artifacts .pytest_cache
