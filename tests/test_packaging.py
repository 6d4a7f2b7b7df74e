"""environment.yml, pyproject.toml and constraints.txt describe one environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["test"]
    return {_norm(Requirement(r).name): str(Requirement(r).specifier) for r in reqs}


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            req = Requirement(dep.replace(" ", ""))
            out[_norm(req.name)] = str(req.specifier)
    return out


def test_environment_yml_lists_the_same_dependencies_and_bounds():
    assert _environment() == _pyproject()


def test_constraints_pin_every_dependency_within_its_bounds():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_norm(name)] = Version(version.strip())
    for name, spec in _pyproject().items():
        assert name in pins, f"{name} is not pinned in constraints.txt (run make lock)"
        req = Requirement(f"{name}{spec}")
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} violates {spec}"


def test_readme_quick_start_is_the_two_make_commands_and_ci_runs_the_tests():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^(?:\$ )?(make \w+)\s*$", quick, flags=re.M)
    assert commands == ["make report", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


class _Worker:
    """What xdist's scheduler needs of a worker: an id, and the tests it is sent, in order."""

    def __init__(self, name: str):
        self.gateway = type("Gateway", (), {"id": name})()
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def test_make_test_runs_the_notebooks_in_order_on_one_worker_and_the_longest_units_first():
    """`make test` is one xdist session of tests and notebooks (--dist loadfile): tests/conftest.py's
    scheduler keeps the notebooks together and in order (each reads what the ones before it wrote)
    and hands out the longest units first; every other file stays whole on one worker."""
    import conftest

    recipe = (ROOT / "Makefile").read_text().split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "pytest tests notebooks -n auto --dist loadfile" in recipe and "--nbval-lax" in recipe
    notebooks = [f"notebooks/{n}.ipynb::Cell {c}" for n in ("00_start_here", "01_data_cleaning", "11_monthly_report")
                 for c in range(3)]
    tests = [f"tests/test_{f}.py::test_{k}" for f in ("io", "privacy", "pipeline", "safe") for k in range(5)]
    collection = tests[:10] + notebooks + tests[10:]
    config = SimpleNamespace(getvalue={"dist": "loadfile", "tx": ["2*popen"]}.get,  # as `-n 2 --dist loadfile` sets them
                             option=SimpleNamespace(loadscopereorder=True))
    scheduler = conftest.pytest_xdist_make_scheduler(config, None)
    workers = [_Worker("gw0"), _Worker("gw1")]
    for w in workers:
        scheduler.add_node(w)
    for w in workers:
        scheduler.add_node_collection(w, collection)
    scheduler.schedule()
    while any(w.sent for w in workers):  # run every test sent, as the workers report them done
        for w in workers:
            if w.sent:
                done = w.sent.pop(0)
                w.__dict__.setdefault("ran", []).append(collection[done])
                scheduler.mark_test_complete(w, done)
    first, second = (w.__dict__.get("ran", []) for w in workers)
    assert first[:len(notebooks)] == notebooks  # all of them, in order, before anything else
    assert second[:5] == [f"tests/test_pipeline.py::test_{k}" for k in range(5)]  # the longest test file next
    assert sorted(first + second) == sorted(collection)
    for f in ("io", "privacy", "pipeline", "safe"):  # a file stays whole on one worker
        assert sum(any(t.startswith(f"tests/test_{f}.py") for t in ran) for ran in (first, second)) == 1
    assert conftest.pytest_xdist_make_scheduler(SimpleNamespace(getvalue={"dist": "load"}.get), None) is None  # xdist's
