"""The typer application every sub-command registers on, and shared CLI helpers.

Only this package parses arguments; it holds no logic of its own. Heavy libraries
(torch, MONAI) are imported inside command bodies, after parsing, so that
``synthscope --help`` answers at once.

Results (tables, lists) go to stdout through `output`; progress, warnings and errors go
to stderr through `console`. Neither interprets rich markup, so a message or a path
that holds ``[...]`` prints as it is.
"""

import contextlib

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

app = typer.Typer(
    name="synthscope",
    help="Fully annotated synthetic microscopy data with diffusion models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
output = Console(markup=False, highlight=False, soft_wrap=True)

AXES = typer.Option(
    None,
    "--axes",
    help="Axes of the input images, one letter per dimension from TCZYX (e.g. ZYX), for files that do not name them.",
)


def print_error(message):
    """Print `message` as one red ``error:`` line on stderr."""
    console.print(Text.assemble(("error:", "red"), " ", str(message)))


def print_warning(message):
    """Print `message` as one yellow ``warning:`` line on stderr."""
    console.print(Text.assemble(("warning:", "yellow"), " ", str(message)))


@contextlib.contextmanager
def progress_bar(description):
    """Yield a ``callback(done, total, **fields)`` that drives a rich progress bar with ETA.

    Library functions that take more than a second accept such a callback; extra
    keyword fields (e.g. ``loss=0.1``) are shown after the bar. The bar appears at the
    first call, so an error raised while checking the input stays a single line.
    """
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}", markup=False),
    )
    progress = Progress(*columns, console=console, transient=False)
    task = progress.add_task(description, total=None, info="")

    def callback(done, total, **fields):
        if not progress.live.is_started:
            progress.start()
        info = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        progress.update(task, completed=done, total=total, info=info)

    try:
        yield callback
    finally:
        if progress.live.is_started:  # a bar never shown leaves no empty line
            progress.stop()


@contextlib.contextmanager
def one_line_warnings(category):
    """Print each warning of `category` raised inside as one yellow line; yield the list of their messages.

    Other warnings are shown as Python shows them, after the block.
    """
    import warnings

    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        yield notes
    for warning in caught:
        if issubclass(warning.category, category):
            notes.append(str(warning.message))
            print_warning(warning.message)
        else:
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def parse_settings(pairs):
    """Turn ``["a.b=1", "c=x"]`` from ``--set`` into ``{"a.b": 1, "c": "x"}`` (YAML scalars)."""
    import yaml

    from synthscope.errors import InputError

    settings = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set {pair!r}: expected key=value")
        settings[key.strip()] = yaml.safe_load(value)
    return settings


def read_yaml_file(path, *, what):
    """Return the YAML mapping in the file `path` (the `what` file), or raise one InputError line."""
    from pathlib import Path

    import yaml

    from synthscope.errors import InputError

    try:
        spec = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"{path}: cannot read the {what} ({str(error).splitlines()[0]})") from None
    if not isinstance(spec, dict):
        raise InputError(f"{path}: the {what} must be a YAML mapping of sections")
    return spec


def parse_percentiles(text):
    """Turn ``--percentiles LOW,HIGH`` (e.g. ``"1,99.8"``) into two floats."""
    from synthscope.errors import InputError

    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--percentiles {text!r}: expected LOW,HIGH such as 1,99.8") from None
    return low, high


@app.callback()
def _root():
    """Fully annotated synthetic microscopy data with diffusion models."""
