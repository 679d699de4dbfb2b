"""The suite's own set-up: what counts as CI, hypothesis's settings, a missing browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from tests.conftest import truthy

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "1", "yes", "on", " true "])
def test_any_true_value_of_ci_counts(value: str) -> None:
    assert truthy(value)


@pytest.mark.parametrize("value", [None, "", "0", "false", "no", "off"])
def test_false_values_of_ci_do_not(value: str | None) -> None:
    assert not truthy(value)


def test_hypothesis_has_no_deadline_on_a_slow_machine() -> None:
    assert settings().deadline is None


def test_without_chromium_in_ci_each_browser_test_fails_and_the_rest_still_runs() -> None:
    env = {**os.environ, "CI": "1", "CB_CHROMIUM": str(ROOT / "no-such-chromium")}
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/test_browser.py", "tests/test_suite_setup.py::test_any_true_value_of_ci_counts",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "error during collection" not in out, out
    assert "7 passed" in out, out
    assert "Chromium is not installed" in out, out
