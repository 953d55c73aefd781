"""``synthscope app``: the web app (Gradio), on 127.0.0.1 unless told otherwise.

(The module is not named ``app``: ``synthscope.cli.app`` is the typer application.)
"""

from pathlib import Path

import typer

from synthscope.cli._app import app, console


@app.command("app")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens it to the network."),
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    model: str = typer.Option(None, "--model", help="Segmentation model folder or bundled name (default: bundled)."),
    work: Path = typer.Option(None, "--work", help="Folder for uploads and results (default: a new temporary one)."),
    max_mb: float = typer.Option(None, "--max-upload-mb", min=0.001, help="Largest upload taken, MB (default 32)."),
):
    """Serve the web app: segment an uploaded image, or generate a small data set, in a browser."""
    from synthscope.app import launch_app

    limit = {} if max_mb is None else {"max_mb": max_mb}
    served, url = launch_app(model=model, host=host, port=port, work=work, block=False, **limit)
    console.print(f"serving on {url} (Ctrl-C stops it)")
    served.block_thread()
