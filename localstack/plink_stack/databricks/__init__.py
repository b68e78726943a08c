"""Databricks account + workspace API emulator for plink (see README.md in this folder).

Entry points for the launcher: ``make_app()``, ``reset()``, ``serve_workspace_hosts()``,
``fixtures()``; seeded constants live in ``fixtures.py``.
"""
