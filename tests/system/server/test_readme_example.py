"""The README's script (the ```python example``` block) runs against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from apptools import ROOT, Server

FENCE = re.compile(r"^```python example\n(.*?)^```", re.S | re.M)


def example_script() -> str:
    found = FENCE.search((ROOT / "README.md").read_text())
    assert found, "no ```python example``` block in README.md"
    return found.group(1)


@pytest.mark.slow
def test_readme_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(example_script())
    with Server(tmp_path / "data") as server:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "BPP_URL": server.url}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    losses = [float(line.split()[-1]) for line in lines if line.startswith("step")]
    assert len(losses) == 5 + 2005 // 250
    assert losses[-1] < losses[0]  # it learned
    assert lines[-1].startswith("train accuracy")
