# The two commands of the README. Both create or update .venv/ first (quick when nothing changed).
.PHONY: demo test setup
setup:
	bash scripts/setup.sh
demo: setup
	.venv/bin/gear-seg demo
test: setup
	bash scripts/test.sh
