"""One long computation of a dock widget, run off the GUI thread with a progress bar and a Cancel button.

`BackgroundRun` holds the Run and Cancel buttons, the progress bar and the status line that
the Segment and Shape 3D widgets share. The computation is an API call that reports its
progress through a ``callback(done, total, **info)``: the callback moves the bar (on the GUI
thread) and, once Cancel is pressed, raises `Cancelled` inside the call, so a cancelled run
stops at its next step and adds nothing. napari, Qt and magicgui are imported when a
`BackgroundRun` is made.
"""

from collections.abc import Callable

from synthscope.errors import InputError


def layer_choices(viewer, kind):
    """A magicgui ``choices`` callable: the ``(name, layer)`` of every `kind` layer of `viewer`."""
    return lambda _widget: [(layer.name, layer) for layer in viewer.layers if isinstance(layer, kind)]


class Cancelled(Exception):
    """Raised by the progress callback of a run whose Cancel button was pressed."""


class BackgroundRun:
    """The Run and Cancel buttons, progress bar and status line of a dock widget, and the run they drive.

    Parameters
    ----------
    name : str
        The Run button's name (its widget name in the form, e.g. ``"segment"``).
    text : str
        The Run button's text.

    Attributes
    ----------
    widgets : list
        The button, the Cancel button (named ``cancel``), the bar (``progress``) and the
        status line (``status``), to put at the end of the form.
    """

    def __init__(self, name: str, text: str):
        from magicgui.widgets import Label, ProgressBar, PushButton

        self.button = PushButton(name=name, text=text)
        self.cancel = PushButton(name="cancel", text="Cancel", enabled=False)
        self.progress = ProgressBar(name="progress", min=0, max=1, value=0)
        self.status = Label(name="status", value="")
        self.widgets = [self.button, self.cancel, self.progress, self.status]
        self.cancel.clicked.connect(self._cancel)
        self._worker = None

    def start(self, compute: Callable, done: Callable, *, busy: str) -> None:
        """Run ``compute(callback)`` in a napari thread worker, then ``done(result)`` on the GUI thread.

        ``done`` adds the result to the viewer and returns the status line to show. Bad
        input that ``compute`` finds (an `InputError`) and an error of ``done`` are shown
        by `fail`, like bad input found before the run; any other error of ``compute`` is
        left to napari, whose thread workers report it with its traceback.
        """
        from napari.qt.threading import create_worker
        from superqt.utils import ensure_main_thread

        @ensure_main_thread
        def show(finished, total):
            self.progress.max, self.progress.value = max(total, 1), finished

        def callback(finished, total, **info):
            if worker.abort_requested:
                raise Cancelled
            show(finished, total)

        def work():
            try:
                return compute(callback), None
            except Cancelled:
                return None  # a worker that was told to quit emits no result
            except InputError as error:
                return None, error

        connections = {
            "returned": lambda outcome: self._done(done, *outcome),
            "errored": lambda error: self._finish(f"error: {error}"),
            # Cancelled or not, a worker told to quit emits no result: the run ends here.
            "finished": lambda: self._worker is worker and self._finish("cancelled"),
        }
        worker = create_worker(work, _connect=connections, _start_thread=False)
        self.progress.max, self.progress.value = 1, 0
        self.button.enabled, self.cancel.enabled = False, True
        self.status.value = busy
        self._worker = worker
        worker.start()

    def fail(self, error: Exception) -> None:
        """Show `error` as a one-line napari notification and in the status line."""
        from napari.utils.notifications import show_error

        show_error(str(error))
        self._finish(f"error: {error}")

    def _done(self, done, result, error):
        if error is not None:
            self.fail(error)
            return
        try:
            message = done(result)
        except Exception as error:  # e.g. data napari refuses: shown, not raised in Qt's event loop
            self.fail(error)
            return
        self.progress.value = self.progress.max
        self._finish(message)

    def _finish(self, message):
        """End the run (if one is going) and show `message`."""
        self.status.value = message
        self.button.enabled, self.cancel.enabled = True, False
        self._worker = None

    def _cancel(self):
        if self._worker is not None:
            self._worker.quit()
