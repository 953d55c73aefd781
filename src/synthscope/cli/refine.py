"""``synthscope refine``: to be filled by its package (see docs/architecture.md)."""

from synthscope.cli._app import app  # noqa: F401
