"""What the ``synthscope`` command prints and writes: results on stdout, messages on stderr, as they are.

Rows 2, 8, 16, 17 and 18 of the reliability catalogue (issue 16).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import image_folder, labels_2d, run

README = Path(__file__).parents[1] / "README.md"


def test_results_go_to_stdout_and_messages_to_stderr(tmp_path, capsys):
    code, out, err = run(capsys, "info")
    assert code == 0 and "bundled models" in out and err == ""
    code, out, err = run(capsys, "sketch", "--list")
    assert code == 0 and "nuclei-2d" in out.split() and err == ""
    true = image_folder(tmp_path / "true", [labels_2d()])
    code, out, err = run(capsys, "evaluate", "segmentation", true, true, "-o", tmp_path / "out")
    assert code == 0 and "| threshold |" in out and "SEG: 1.0000" in out
    assert err.startswith("wrote ") and err.count("\n") == 1


@pytest.mark.parametrize(("command", "warned"), [("generate", True), ("sketch", False)])
def test_generate_says_when_no_model_refined_the_images(tmp_path, capsys, command, warned):
    code, _, err = run(capsys, command, "tissue-2d", "-n", 1, "-o", tmp_path / "set", "--set", "shape=[48,48]")
    assert code == 0
    assert ("warning: tissue-2d names no refinement model" in err) == warned, err


def test_the_item_record_names_the_axes_of_a_two_channel_image(tmp_path, capsys):
    code, _, _ = run(capsys, "sketch", "nuclei-membrane-2d", "-n", 1, "-o", tmp_path / "set", "--set", "shape=[48,48]")
    record = json.loads((tmp_path / "set" / "items" / "00000.json").read_text())
    assert code == 0 and (record["axes"], record["image_axes"]) == ("YX", "CYX")


def test_a_path_with_markup_is_printed_as_it_is(tmp_path, capsys):
    out = tmp_path / "a[/b]c"
    code, _, err = run(capsys, "sketch", "nuclei-2d", "-n", 1, "-o", out, "--set", "shape=[32,32]")
    assert code == 0 and f"wrote 1 items to {out}" in err
    assert (out / "items" / "00000.json").is_file()


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_importing_synthscope_makes_idle_openmp_threads_sleep(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update({} if given is None else {"OMP_WAIT_POLICY": given})
    code = "import os, sys, synthscope; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    run_ = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert run_.stdout.split() == [expected, "False"]


def test_the_readme_python_example_writes_a_folder_of_its_own():
    text = README.read_text()
    cli_folders = set(re.findall(r"synthscope \w+ .*? -o (\S+)", text))
    api_folders = set(re.findall(r"synthscope\.generate\(.*?out=\"([^\"]+)\"", text))
    assert api_folders and not api_folders & cli_folders
