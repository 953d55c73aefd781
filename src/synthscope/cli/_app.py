"""The typer application every sub-command registers on, and shared CLI helpers.

Only this package parses arguments; it holds no logic of its own. Heavy libraries
(torch, MONAI) are imported inside command bodies, after parsing, so that
``synthscope --help`` answers at once.
"""

import contextlib

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

app = typer.Typer(
    name="synthscope",
    help="Fully annotated synthetic microscopy data with diffusion models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(stderr=True)


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
        TextColumn("{task.fields[info]}"),
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
            console.print(f"[yellow]warning:[/yellow] {warning.message}", highlight=False, soft_wrap=True)
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
