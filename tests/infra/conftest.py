"""Fixtures of tests/infra; the helpers live in infra_support (a name unique in the repo)."""

from infra_support import rendered, rendered_dir  # noqa: F401  (pytest fixtures)
