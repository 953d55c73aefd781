"""Browser tests run only when asked (``SYNTHSCOPE_BROWSER_TESTS=1``, as ``make test-browser`` does):
they need Chromium and Playwright, which ``make test`` does not install."""

import os

if os.environ.get("SYNTHSCOPE_BROWSER_TESTS") != "1":
    collect_ignore_glob = ["*.py"]
