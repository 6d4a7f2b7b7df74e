"""The versions that produced a result: shown at the end of every notebook and recorded in run.json.

It lives apart from the runner so that code running inside a notebook never imports the runner.
"""

from __future__ import annotations

import platform
from importlib import metadata

from crm_utils import __version__

VERSIONED = ("pandas", "numpy", "pyarrow", "pandera", "scikit-learn", "scipy", "matplotlib",
             "seaborn", "papermill", "nbconvert", "ipykernel", "holidays", "prophet", "statsforecast",
             "pymc-marketing")


def versions() -> dict[str, str]:
    """Python, crm_utils and the installed version of each library in :data:`VERSIONED`."""
    out = {"python": platform.python_version(), "crm_utils": __version__}
    for pkg in VERSIONED:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
