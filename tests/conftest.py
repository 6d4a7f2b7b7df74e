"""Shared fixtures: one small generated data set with its ground truth, cleaned once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_utils import cleaning, io, privacy, synth


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory):
    """Keys and caches in a temporary home, so tests never touch the developer's files."""
    home = tmp_path_factory.mktemp("home")
    os.environ["CRM_PSEUDONYM_KEY_FILE"] = str(home / "pseudonym.key")
    os.environ.pop(privacy.KEY_ENV, None)
    os.environ.setdefault("MPLCONFIGDIR", str(home / "mpl"))
    yield


@pytest.fixture(scope="session")
def key() -> privacy.PseudonymKey:
    return privacy.PseudonymKey(bytes(range(32)), "test key", False)


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """1,500 customers over 36 months: every kind of dirt is planted at least a few times."""
    out = tmp_path_factory.mktemp("small_data")
    synth.generate(out, synth.SynthConfig(customers=1500, seed=7))
    return out


@pytest.fixture(scope="session")
def truth(small_data) -> dict:
    return synth.load_truth(small_data)


@pytest.fixture(scope="session")
def cleaned(small_data, key):
    """The cleaning run on the small data for October 2026, with its step-by-step object."""
    run = cleaning.CleaningRun(io.load_raw(small_data), "2026-10", key=key)
    for step in cleaning.CleaningRun.STEPS:
        getattr(run, step)()
    return run, run.finish()
