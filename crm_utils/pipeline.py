"""The monthly run: execute the numbered notebooks with papermill and assemble the report folder.

``run_month`` builds everything in a hidden work folder next to the report and swaps it into
place only when every notebook succeeded, so a failed run never damages the last good report
of that month. A failed run keeps its executed notebooks in ``reports/<month>.failed/``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import nbformat

from . import __version__
from .artifacts import collect_metrics
from .config import DEFAULT_SEED, NOTEBOOKS_DIR, display_path, parse_month
from .io import Mapping, file_fingerprint, find_table_file
from .schema import CONTRACTS

log = logging.getLogger("crm_report")

KERNEL_NAME = "crm-report-python"
BASE_PARAMETERS = ("report_month", "data_dir", "run_dir", "seed")
VERSIONED = ("pandas", "numpy", "pyarrow", "pandera", "scikit-learn", "scipy", "matplotlib",
             "seaborn", "papermill", "nbconvert", "ipykernel", "holidays", "prophet", "statsforecast",
             "pymc-marketing")


class RunFailed(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""

    def __init__(self, message: str, notebook: str, cell: int | None, failed_dir: Path | None):
        super().__init__(message)
        self.notebook, self.cell, self.failed_dir = notebook, cell, failed_dir


@dataclass
class RunResult:
    month: str
    report_dir: Path
    html: Path
    durations: dict[str, float] = field(default_factory=dict)


def discover_notebooks(notebooks_dir: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order, optionally only the given numbers."""
    found = sorted(p for p in Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {notebooks_dir}")
    if only:
        wanted = {o.strip().zfill(2) for o in only}
        unknown = wanted - {p.name[:2] for p in found}
        if unknown:
            raise ValueError(f"--only names notebooks that do not exist: {sorted(unknown)}; "
                             f"have {[p.name for p in found]}")
        found = [p for p in found if p.name[:2] in wanted]
    return found


def declared_parameters(path: Path) -> dict[str, object]:
    """Names and default values of the notebook's ``parameters`` cell; an error if it has none.

    papermill only warns when the cell is missing and then runs with defaults (papermill #245):
    here that is an error, because the month would silently be the notebook's default.
    """
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise ValueError(f"{path.name} has no cell tagged 'parameters'; papermill could not set its month")
    params: dict[str, object] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    try:
                        params[t.id] = ast.literal_eval(node.value)
                    except ValueError:
                        params[t.id] = None
    missing = [p for p in BASE_PARAMETERS if p not in params]
    if missing:
        raise ValueError(f"{path.name}: the parameters cell lacks {missing}")
    return params


def parse_extra(pairs: list[str] | None) -> dict[str, str]:
    """``-p name=value`` pairs as text; converted per notebook to the declared default's type."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"-p expects name=value, got {pair!r}")
        name, value = pair.split("=", 1)
        if name in BASE_PARAMETERS:
            raise ValueError(f"set {name} with its own option, not -p")
        out[name.strip()] = value
    return out


def convert_like(value: str, default: object, name: str) -> object:
    """Convert a command-line value to the type of the notebook's default (papermill #345)."""
    if isinstance(default, bool):
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"parameter {name} expects true/false, got {value!r}")
    for typ in (int, float):
        if isinstance(default, typ):
            try:
                return typ(value)
            except ValueError:
                raise ValueError(f"parameter {name} expects {typ.__name__}, got {value!r}") from None
    if isinstance(default, (list, dict)):
        parsed = ast.literal_eval(value)
        if not isinstance(parsed, type(default)):
            raise ValueError(f"parameter {name} expects a {type(default).__name__}, got {value!r}")
        return parsed
    return value


def input_fingerprint(data_dir: Path) -> dict:
    """SHA-256 and size of every input file the run reads, and one combined digest."""
    mapping = Mapping.load(data_dir / "mapping.yml") if (data_dir / "mapping.yml").exists() else Mapping()
    files = {}
    for table in CONTRACTS:
        p = find_table_file(data_dir, table, mapping.for_table(table))
        if p is not None:
            files[p.name] = {"table": table, "bytes": p.stat().st_size, "sha256": file_fingerprint(p)}
    if (data_dir / "mapping.yml").exists():
        p = data_dir / "mapping.yml"
        files[p.name] = {"table": None, "bytes": p.stat().st_size, "sha256": file_fingerprint(p)}
    combined = hashlib.sha256("".join(f"{k}:{v['sha256']}" for k, v in sorted(files.items())).encode())
    return {"files": files, "combined_sha256": combined.hexdigest()}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "crm_utils": __version__}
    for pkg in VERSIONED:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _kernelspec_dir() -> Path:
    """A private kernelspec that runs *this* interpreter, placed first on JUPYTER_PATH.

    A user-level kernelspec named like ours cannot shadow it (papermill #251): JUPYTER_PATH
    takes precedence over the user and system data folders.
    """
    root = Path(tempfile.mkdtemp(prefix="crm-kernel-"))
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": f"Python ({Path(sys.prefix).name})", "language": "python",
        "env": {"PYTHONHASHSEED": "0"}}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("JUPYTER_PATH")]))
    return root


def render_html(notebook: Path, out: Path) -> Path:
    """The report: the executed notebook as HTML with code hidden and images embedded."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nbformat.read(notebook, as_version=4))
    out.write_text(body, encoding="utf-8")
    return out


def _failure_message(name: str, exc: Exception) -> tuple[str, int | None]:
    cell = getattr(exc, "exec_count", None)
    index = getattr(exc, "cell_index", None)
    ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    where = f"cell {index + 1}" if index is not None else "setup"
    if cell is not None:
        where += f" (In [{cell}])"
    return f"{name} failed at {where}: {ename}: {evalue}", index


def run_month(month: str, data_dir: str | Path, reports_dir: str | Path, *, only: list[str] | None = None,
              extra: dict[str, str] | None = None, seed: int = DEFAULT_SEED,
              notebooks_dir: str | Path = NOTEBOOKS_DIR, progress: bool | None = None) -> RunResult:
    """Run the month's notebooks and swap the finished report folder into ``reports_dir/<month>``."""
    logging.getLogger("papermill").setLevel(logging.WARNING)  # its per-notebook banner is noise here
    parse_month(month)
    data_dir, reports_dir = Path(data_dir).resolve(), Path(reports_dir).resolve()
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {data_dir} does not exist; run `crm-report generate` "
                                f"or point --data-dir at your export")
    notebooks = discover_notebooks(Path(notebooks_dir), only)
    extra = extra or {}
    declared = {nb.name: declared_parameters(nb) for nb in notebooks}
    unknown = set(extra) - {p for d in declared.values() for p in d}
    if unknown:
        raise ValueError(f"no notebook declares parameter(s) {sorted(unknown)}; declared: "
                         f"{sorted({p for d in declared.values() for p in d} - set(BASE_PARAMETERS))}")

    reports_dir.mkdir(parents=True, exist_ok=True)
    with _lock_month(reports_dir, month):  # one run of a month at a time
        return _run_locked(month, data_dir, reports_dir, notebooks, declared, extra, only, seed, progress)


def _run_locked(month: str, data_dir: Path, reports_dir: Path, notebooks: list[Path],
                declared: dict[str, dict], extra: dict[str, str], only: list[str] | None, seed: int,
                progress: bool | None) -> RunResult:
    """Build the month's report in a work folder and swap it in; the caller holds the month's lock."""
    import papermill as pm

    final = reports_dir / month
    work = reports_dir / f".{month}.partial-{os.getpid()}"
    failed = reports_dir / f"{month}.failed"
    _recover(reports_dir, month)
    fingerprint = input_fingerprint(data_dir)  # before running: a file landing mid-run must not be credited
    if only and final.exists():
        previous = json.loads((final / "run.json").read_text()) if (final / "run.json").exists() else {}
        if previous.get("input", {}).get("combined_sha256") != fingerprint["combined_sha256"]:
            raise ValueError(f"--only reruns notebooks on top of the {month} report, but the input data "
                             f"differ from what that report was built from; run the whole month instead")
        shutil.copytree(final, work)  # rerun some notebooks on top of the month's last good run
        (work / "report.html").unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)

    kernel_root = _kernelspec_dir()
    started = datetime.now(timezone.utc)
    durations: dict[str, float] = {}
    if progress is None:
        progress = sys.stderr.isatty()
    base = {"report_month": month, "data_dir": str(data_dir), "run_dir": str(work), "seed": int(seed)}
    try:
        for i, nb in enumerate(notebooks, 1):
            params = dict(base)
            for name, value in extra.items():
                if name in declared[nb.name]:
                    params[name] = convert_like(value, declared[nb.name][name], name)
            log.info("[%d/%d] %s ...", i, len(notebooks), nb.name)
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(str(nb), str(work / nb.name), parameters=params,
                                    kernel_name=KERNEL_NAME, cwd=str(nb.parent),
                                    progress_bar=progress, log_output=False)
            except Exception as exc:  # PapermillExecutionError and kernel start failures alike
                durations[nb.name] = round(time.perf_counter() - t0, 2)
                message, cell = _failure_message(nb.name, exc)
                shutil.rmtree(failed, ignore_errors=True)
                work.rename(failed)
                raise RunFailed(message + f"\nThe executed notebook is kept in {failed / nb.name}; "
                                f"the last good report of {month} is untouched.", nb.name, cell, failed) from exc
            durations[nb.name] = round(time.perf_counter() - t0, 2)
            log.info("[%d/%d] %s done in %.1f s", i, len(notebooks), nb.name, durations[nb.name])

        metrics = collect_metrics(work)
        (work / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        executed = sorted(work.glob("[0-9][0-9]_*.ipynb"))
        html = render_html(executed[-1], work / "report.html")
        run_info = {
            "report_month": month, "seed": int(seed),
            "parameters": {**{k: v for k, v in base.items() if k != "run_dir"}, "data_dir": display_path(data_dir),
                           "extra": extra},
            "notebooks": [nb.name for nb in notebooks], "only": only,
            "durations_seconds": durations,
            "started_utc": started.isoformat(timespec="seconds"),
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "kernel": f"{KERNEL_NAME} (python {platform.python_version()}, environment {Path(sys.prefix).name})",
            "versions": versions(), "input": fingerprint,
        }
        (work / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
    except RunFailed:
        raise
    except BaseException:
        if work.exists():
            shutil.rmtree(failed, ignore_errors=True)
            work.rename(failed)
        raise
    finally:
        shutil.rmtree(kernel_root, ignore_errors=True)

    # Swap: the old report is removed only once the new one is in place, and comes back if that fails.
    old = reports_dir / f".{month}.old-{os.getpid()}"
    if final.exists():
        final.rename(old)
    try:
        work.rename(final)
    except BaseException:
        if old.exists() and not final.exists():
            old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(failed, ignore_errors=True)
    return RunResult(month, final, final / html.name, durations)


def _lock_month(reports_dir: Path, month: str):
    """An exclusive lock on the month, so two runs of it cannot interleave their swaps.

    The returned file object is a context manager: leaving it closes the file and so releases
    the lock, on success and on error alike.
    """
    import fcntl

    fh = open(reports_dir / f".{month}.lock", "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise ValueError(f"another run of {month} is in progress (lock {reports_dir / f'.{month}.lock'})") from None
    return fh


def _recover(reports_dir: Path, month: str) -> None:
    """Clean up after a run that was killed: holding the month's lock, nothing else is writing.

    A leftover '.old' folder with no report beside it is the last good report caught mid-swap:
    it is put back. Leftover work folders are removed.
    """
    final = reports_dir / month
    for old in sorted(reports_dir.glob(f".{month}.old-*")):
        if not final.exists():
            old.rename(final)
        else:
            shutil.rmtree(old, ignore_errors=True)
    for partial in reports_dir.glob(f".{month}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def latest_complete_month(data_dir: str | Path) -> str:
    """The last month the orders cover to its final day: the default month of ``make report``.

    Derived from the data, not from today's date, so the same data always gives the same month.
    """
    from .io import load_table, parse_dates

    data_dir = Path(data_dir)
    mapping = Mapping.load(data_dir / "mapping.yml") if (data_dir / "mapping.yml").exists() else None
    orders = load_table(data_dir, "orders", mapping)
    dates = parse_dates(orders.frame["order_date"], orders.mapping.date_formats.get("order_date")).dropna()
    if dates.empty:
        raise ValueError(f"{orders.file}: no readable order_date, cannot tell the latest month")
    # A stray typo (a line dated 2206) must not become "the latest month": months holding less
    # than 10% of a typical month's lines are ignored when looking for the end of the data.
    per_month = dates.dt.to_period("M").value_counts().sort_index()
    real = per_month[per_month >= 0.1 * per_month.median()]
    period = real.index.max()
    last = dates[dates.dt.to_period("M") == period].max()
    if last.normalize() < period.end_time.normalize():
        period -= 1
    return str(period)
