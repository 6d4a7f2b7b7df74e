"""Shared fixtures: one small generated data set with its ground truth, cleaned once per session."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from crm_utils import synth
from crm_utils.data import cleaning, io, privacy


#: Notebook parameters for end-to-end runs that test the pipeline's mechanics rather than forecast
#: quality (nbval covers notebook 08 with its defaults): fewer series and one prior-scale pair.
LIGHT_RUN = ["-p", "levels=['total', 'category']", "-p", "revenue_levels=[]", "-p", "prior_grid=[[0.05, 10.0]]"]


#: The unit of work under pytest-xdist that holds every notebook test (nbval): one worker runs the
#: notebooks in order, since each reads what the ones before it wrote.
NOTEBOOKS_SCOPE = "notebooks, in order"
#: Units of work handed out first, in this order: each takes minutes (whole monthly runs; in CI about
#: 4 1/2, 4 1/2, 4, 3 and 2 minutes, and the notebooks 3), and xdist otherwise hands out the files
#: with the most tests first, so that these few-test files start last, on one worker, while the other
#: has nothing left. The notebooks come first of all, so that they run in their worker before any
#: test has changed its environment (the tests' session fixtures set a temporary pseudonym key file,
#: which the notebooks' kernels would inherit). A name that is not collected is passed over.
LONGEST_FIRST = (NOTEBOOKS_SCOPE, "tests/test_pipeline.py", "tests/test_database.py", "tests/test_hostile_report.py",
                 "tests/test_i18n_run.py", "tests/test_corpus.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs the tests and the notebooks in one session on every core (``--dist
    loadfile``): each test file is one unit of work on one worker (its module fixtures run once),
    and all the notebooks together are one more, so they overlap the tests on the other core
    instead of following them on one; the longest units go first (:data:`LONGEST_FIRST`). Other
    ``--dist`` modes are xdist's own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class NotebooksInOrder(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::", 1)[0].endswith(".ipynb"):
                return NOTEBOOKS_SCOPE
            return super()._split_scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            for scope in reversed(LONGEST_FIRST):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return NotebooksInOrder(config, log)


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


@pytest.fixture(scope="session")
def default_data(tmp_path_factory) -> Path:
    """The default synthetic data set (10,000 customers): what the notebooks' claims are about.

    `make test` has generated it into $CRM_DATA_DIR; a bare pytest run generates it (~3 s).
    """
    env = os.environ.get("CRM_DATA_DIR")
    if env and (Path(env) / "_truth" / "manifest.json").exists():
        manifest = json.loads((Path(env) / "_truth" / "manifest.json").read_text())
        defaults = dataclasses.asdict(synth.SynthConfig())
        if all(manifest["config"].get(k) == v for k, v in defaults.items()):
            return Path(env)
    out = tmp_path_factory.mktemp("default_data")
    synth.generate(out, synth.SynthConfig())
    return out


@pytest.fixture(scope="session")
def default_cleaned(default_data, key):
    """The default data cleaned for the default report month, October 2026."""
    return cleaning.clean(io.load_raw(default_data), "2026-10", key=key)
