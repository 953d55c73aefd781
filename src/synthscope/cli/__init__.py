"""The ``synthscope`` command."""

import os
import sys

# Importing a command module registers its commands on `app`.
from synthscope.cli import adapt, evaluate, export, fit, generate, info, refine, train  # noqa: F401
from synthscope.cli._app import app, console
from synthscope.errors import InputError


def main():
    """Run the command; bad input ends with one error line and exit status 2."""
    # Idle OpenMP threads sleep instead of spinning: with spinning, two threads per
    # process on a shared 2-core machine made network passes 4-20x slower (measured).
    # Set before torch is imported, which happens only inside commands.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        app()
    except InputError as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted; run the same command again to resume")
        sys.exit(130)
