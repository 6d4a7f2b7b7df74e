"""Real exports for tests: read from ``../shared/realdata/`` beside the clone, never committed.

Their licences are unstated, so the files stay outside the repository. A test that needs one calls
``realdata.path("superstore/Sample - Superstore.csv")``: when the folder or file is absent the test
is skipped with the reason, except under ``CI=true``, where CI promises the folder and a missing
file fails the test. Each real file goes through a mapping in ``tests/realdata_mappings/``, as a
user's export would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Where CI (and a developer's checkout beside ``shared/``) keeps the real exports.
ROOT = Path(os.environ.get("CRM_REALDATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "realdata"))
MAPPINGS = Path(__file__).parent / "realdata_mappings"


def path(relative: str) -> Path:
    """The real file ``relative`` under ROOT; skip (or fail under CI=true) when it is absent."""
    file = ROOT / relative
    if not file.is_file():
        message = f"real export {file} is absent (see DEVELOPERS.md: ../shared/realdata beside the clone)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return file


def mapping(name: str) -> Path:
    """A committed mapping for a real export, by stem: ``mapping("superstore")``."""
    return MAPPINGS / f"{name}.yml"
