"""The ``synthscope`` command."""

import sys

import typer

# Importing a command module registers its commands on `app`.
from synthscope.cli import (  # noqa: F401
    adapt,
    distill,
    evaluate,
    export,
    fit,
    generate,
    info,
    refine,
    segment,
    shape3d,
    train,
    webapp,
)
from synthscope.cli._app import app, console, print_error
from synthscope.errors import InputError

#: The exit status of an interrupted command (typer's, as a shell reports Ctrl-C).
INTERRUPTED = 130


def main(args=None):
    """Run the ``synthscope`` command with `args` (default: the command line) and exit.

    Every failure ends in one ``error:`` line on stderr. Exit status: 0 done; 2 bad input
    or usage (checked before anything is written); 1 an operating-system error such as a
    full disk or a denied permission (files are written under temporary names, so none is
    left half-written and the same command resumes once the cause is fixed); 130 interrupted.
    Idle OpenMP threads sleep instead of spinning: ``import synthscope`` sets
    ``OMP_WAIT_POLICY=PASSIVE`` unless it is set already.
    """
    try:
        status = app(args, prog_name="synthscope", standalone_mode=False)
    except typer.TyperException as error:  # usage: an unknown option, a value out of its range, ...
        if type(error).__name__ != "NoArgsIsHelpError":  # (as typer tells it) whose help is printed already
            print_error(_usage_message(error))
        status = error.exit_code
    except InputError as error:
        print_error(error)
        status = 2
    except OSError as error:
        print_error(f"{_os_message(error)}; fix this and run the same command again (finished work is kept)")
        status = 1
    if status == INTERRUPTED:
        console.print("interrupted; run the same command again to resume")
    sys.exit(status or 0)


def _usage_message(error):
    """Return click's message of a usage error as one line, with where to find help."""
    message = " ".join(error.format_message().split())
    context = getattr(error, "ctx", None)
    return f"{message} (see {context.command_path} --help)" if context is not None else message


def _os_message(error):
    """Return ``"FILE: reason"`` of an `OSError`, e.g. ``"out/a.tif: No space left on device"``."""
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason
