"""``python -m synthscope.cli``: the same as the ``synthscope`` command."""

from synthscope.cli import main

main()
