# The commands of the README. Logic lives in scripts/ so it can be read on its own.
.PHONY: demo test test-fast bench

## demo: start the local cloud stack, run `plink up` and `plink status` on the example workflow
demo:
	@scripts/demo

## test: every test: emulator conformance (Python clients), then the Rust suites (unit, engine, end to end)
test:
	@scripts/test

## test-fast: the suites that need no local stack and no Python (unit, engine, state, workflow files, clients, CLI)
test-fast:
	@scripts/test-fast

## bench: plink against the local stack's time model: fresh, converged and 10 parallel `up`s, a sequential script (BENCHMARKS.md; not part of `make test`)
bench:
	@scripts/bench
