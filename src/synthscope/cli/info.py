"""``synthscope info``: versions, CPU features and bundled models."""

from synthscope.cli._app import app, output


@app.command()
def info():
    """Print the versions, CPU features (bf16) and the bundled default models (to stdout)."""
    import platform

    import monai
    import torch
    from rich.table import Table

    import synthscope
    from synthscope.models import bundled_models

    table = Table(show_header=False, box=None)
    table.add_row("synthscope", synthscope.__version__)
    table.add_row("python", platform.python_version())
    table.add_row("torch", torch.__version__)
    table.add_row("monai", monai.__version__)
    table.add_row("cpu", platform.processor() or platform.machine())
    table.add_row("threads", str(torch.get_num_threads()))
    table.add_row("bf16 matmul", "yes" if torch.backends.mkldnn.is_available() and _has_bf16() else "no")
    models = bundled_models()
    table.add_row("bundled models", ", ".join(models) if models else "none")
    output.print(table)


def _has_bf16():
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
