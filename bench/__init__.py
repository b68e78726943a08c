"""`make bench` (BENCHMARKS.md): `localstack/.venv/bin/python -m bench --plink PATH`."""
