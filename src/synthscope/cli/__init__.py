"""The ``synthscope`` command."""

import sys

from synthscope.cli._app import app, console
# Importing a command module registers its commands on `app`.
from synthscope.cli import evaluate, export, generate, info, refine, train  # noqa: F401
from synthscope.errors import InputError


def main():
    """Run the command; bad input ends with one error line and exit status 2."""
    try:
        app()
    except InputError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command again to resume")
        sys.exit(130)
