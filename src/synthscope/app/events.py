"""What every event handler of the app shares: bad input shown as a message, progress shown as a bar.

Gradio is imported inside the functions only, so that `synthscope.app` imports without it.
"""

import functools
from collections.abc import Callable

from synthscope.errors import InputError


def gradio_errors(handler: Callable) -> Callable:
    """Return `handler` with its `InputError` shown to the user as Gradio's one-line error message.

    Any other exception is a bug and is left to Gradio (logged, shown as "Error").
    """
    import gradio as gr

    @functools.wraps(handler)
    def shown(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except InputError as error:
            raise gr.Error(str(error), print_exception=False) from None

    return shown


def progress_callback(progress, description: str) -> Callable[..., None]:
    """Return a ``callback(done, total, **fields)`` that moves the Gradio `progress` bar."""
    return lambda done, total, **fields: progress((done, total), desc=description)
