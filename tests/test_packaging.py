"""environment.yml, pyproject.toml and constraints.txt describe one environment."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

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
