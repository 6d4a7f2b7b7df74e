"""The monthly run: execute the numbered notebooks with papermill and assemble the report folder.

``run_month`` builds everything in a hidden work folder next to the report and swaps it into
place only when every notebook succeeded, so a failed run never damages the last good report
of that month. A failed run keeps its executed notebooks in ``reports/<month>.failed/``.
A reports folder that cannot be written (read-only, full, not a folder) stops the run with
:class:`OutputError`, naming the path, before any notebook runs; after the notebooks have run
it fails the run like a failed notebook (:class:`RunFailed`).

The kernels run in a private kernelspec whose launcher ties each kernel's life to the runner's
(Linux ``PR_SET_PDEATHSIG``): a runner killed by cron, systemd or a user takes its kernel with it.

The input is any :class:`~crm_utils.data.sources.Source` (a data folder or a database); the runner
does not ask which. What the source says in ``notebook_parameters()`` points notebook 01 (the
only one reading raw data) at it, never with a password: ``data_dir`` for a folder, ``source`` for
a database, given to every notebook that declares it.
"""

from __future__ import annotations

import ast
import functools
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from crm_utils import i18n, stages
from crm_utils.charts import font_problem
from crm_utils.artifacts import collect_metrics
from crm_utils.config import DEFAULT_SEED, NOTEBOOKS_DIR, parse_month
from crm_utils.data.mapping import (currency_code, data_retail_events, declared_currency, declared_holidays,
                                    declared_retail_events, document_holidays)
from crm_utils.data.sources import FolderSource, Source, latest_month_of, open_source
from crm_utils.versions import versions

log = logging.getLogger("crm_report")

KERNEL_NAME = "crm-report-python"
BASE_PARAMETERS = ("report_month", "data_dir", "run_dir", "seed")
#: The parameter through which a notebook that reads raw data is given a database source
#: (``DatabaseSource.notebook_parameters``); set with --source, never with -p.
SOURCE_PARAMETER = "source"
#: The parameter through which notebooks are given the report's language (``--language``, never -p).
LANGUAGE_PARAMETER = "language"


class RunFailed(RuntimeError):
    """A notebook failed, or the finished run could not be written; the message names the notebook, the
    cell and the error (``notebook`` is None when the notebooks succeeded and writing the run failed)."""

    def __init__(self, message: str, notebook: str | None, cell: int | None, failed_dir: Path | None):
        super().__init__(message)
        self.notebook, self.cell, self.failed_dir = notebook, cell, failed_dir


class PartialMonth(ValueError):
    """The data end inside the report month and the run did not ask for a partial report."""


class OutputError(RuntimeError):
    """A folder or file of the run cannot be written (permission denied, read-only file system, disk
    full, a file where a folder should be); one line naming the path."""


def shown_path(path: str | os.PathLike) -> str:
    """A path as a message names it: relative to the working folder when inside it, else absolute."""
    p = Path(os.fsdecode(path)).absolute()
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def os_problem(exc: OSError, path: str | os.PathLike) -> tuple[str, str]:
    """The path an OSError is about (the file it names, else ``path``) as shown, and why, in lower case."""
    where = exc.filename if exc.filename is not None else path
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__)
    return shown_path(where), reason[:1].lower() + reason[1:]


def cannot_write(exc: OSError, path: str | os.PathLike) -> str:
    """'cannot write to reports/2026-10: permission denied': the file the error names (else ``path``) and why."""
    return "cannot write to {}: {}".format(*os_problem(exc, path))


@contextmanager
def _writing(path: Path):
    """An OSError while writing ``path`` becomes an :class:`OutputError` naming it (or the file the error names)."""
    try:
        yield
    except OSError as exc:
        raise OutputError(cannot_write(exc, path)) from exc


@dataclass
class RunResult:
    month: str
    report_dir: Path
    html: Path | None  # None when the run did not include the report notebook
    durations: dict[str, float] = field(default_factory=dict)


def discover_notebooks(notebooks_dir: Path = NOTEBOOKS_DIR, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order, optionally only the given numbers.

    ``00_*`` is the guided tour for newcomers, not a step of the monthly run.
    """
    found = sorted(p for p in Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00_"))
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


#: ``-p 03.k_max=6``: a parameter of one notebook, named by its number.
QUALIFIED = re.compile(r"^(\d\d)\.(\w+)$")
#: Parameters that mean one thing in every notebook declaring them: set unqualified without a warning.
SHARED_PARAMETERS = ("currency",)


def split_name(name: str) -> tuple[str | None, str]:
    """``"03.k_max"`` -> ``("03", "k_max")``; an unqualified ``"k_max"`` -> ``(None, "k_max")``."""
    m = QUALIFIED.match(name)
    return (m.group(1), m.group(2)) if m else (None, name)


def parse_extra(pairs: list[str] | None) -> dict[str, str]:
    """``-p name=value`` or ``-p NN.name=value`` pairs as text; converted per notebook to the declared
    default's type. ``NN.name`` sets the parameter in notebook NN only."""
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"-p expects name=value or NN.name=value, got {pair!r}")
        name, value = pair.split("=", 1)
        name = name.strip()
        if split_name(name)[1] in BASE_PARAMETERS:
            raise ValueError(f"set {split_name(name)[1]} with its own option, not -p")
        out[name] = value
    return out


def check_extra(extra: dict[str, str], declared: dict[str, dict]) -> None:
    """Refuse a ``-p`` name no notebook of the run declares (``NN.name``: notebook NN of the run),
    and warn when an unqualified name sets a parameter in several notebooks, which may mean
    different things there (``k_max`` is the most segments in 03 and the most clusters in 06)."""
    everywhere = {p for d in declared.values() for p in d}
    unknown = sorted(n for n in extra if split_name(n)[0] is None and n not in everywhere)
    if unknown:
        raise ValueError(f"no notebook declares parameter(s) {unknown}; declared: "
                         f"{sorted(everywhere - set(BASE_PARAMETERS))}")
    for name, value in extra.items():
        number, bare = split_name(name)
        if number is None:
            owners = [nb for nb, d in declared.items() if name in d]
            if len(owners) > 1 and name not in SHARED_PARAMETERS:
                log.warning("-p %s=%s sets %s in %d notebooks (%s); to set it in one, write -p %s.%s=%s",
                            name, value, name, len(owners), ", ".join(owners), owners[0][:2], name, value)
            continue
        notebook = next((nb for nb in declared if nb[:2] == number), None)
        if notebook is None:
            raise ValueError(f"-p {name}: no notebook {number} in this run; it runs {sorted(nb[:2] for nb in declared)}")
        if bare not in declared[notebook]:
            raise ValueError(f"-p {name}: {notebook} declares no parameter {bare!r}; it declares "
                             f"{sorted(set(declared[notebook]) - set(BASE_PARAMETERS))}")


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
    """SHA-256 and size of every input file of a data folder, and one combined digest."""
    return FolderSource(Path(data_dir)).fingerprint()


def base_parameters(src: Source, month: str, run_dir: Path, seed: int) -> dict[str, object]:
    """The parameters every notebook is given; ``data_dir`` is empty unless the source names it."""
    return {"report_month": month, "data_dir": src.notebook_parameters().get("data_dir", ""),
            "run_dir": str(run_dir), "seed": int(seed)}


def notebook_parameters(src: Source, base: dict[str, object], declared: dict[str, object],
                        extra: dict[str, str], *, notebook: str = "", currency: str | None = None,
                        holidays: dict | None = None, language: str = "en") -> dict[str, object]:
    """One notebook's parameters: the base ones, those of the source's parameters the notebook
    declares (a database's ``source``), the data's ``currency`` when it declares one (None: the data
    declare none), and the ``-p`` values it declares, typed as its defaults: unqualified ones, then
    those addressed to this notebook's number (``-p 03.k_max=6``), which win."""
    params = dict(base)
    for name, value in src.notebook_parameters().items():
        if name not in BASE_PARAMETERS and name in declared:
            params[name] = value
    if CURRENCY_PARAMETER in declared:
        params[CURRENCY_PARAMETER] = currency or ""  # "": the data declare none (None would read a folder)
    if HOLIDAYS_PARAMETER in declared:
        params[HOLIDAYS_PARAMETER] = holidays or {}  # {}: no calendar declared
    if RETAIL_EVENTS_PARAMETER in declared:  # the data's own, also where no data folder is passed (a database)
        params[RETAIL_EVENTS_PARAMETER] = declared_events(src)
    if LANGUAGE_PARAMETER in declared:
        params[LANGUAGE_PARAMETER] = language
    qualified = sorted(extra, key=lambda n: split_name(n)[0] is not None)  # a notebook's own value last
    for name in qualified:
        number, bare = split_name(name)
        if bare in declared and number in (None, notebook[:2]):
            params[bare] = convert_like(extra[name], declared[bare], bare)
            if bare == CURRENCY_PARAMETER:
                params[bare] = currency_code(extra[name], "-p", "currency")
            if bare == HOLIDAYS_PARAMETER:
                params[bare] = holidays_parameter(extra[name])
    return params


#: The parameter through which notebooks are given the currency of the data's amounts.
CURRENCY_PARAMETER = "currency"
#: ... and the holiday calendar the data declare (notebook 08).
HOLIDAYS_PARAMETER = "holidays"


def holidays_parameter(value: str) -> dict:
    """``-p holidays="{'country': 'GB'}"`` as the checked declaration (a ValueError in one line otherwise)."""
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise ValueError(f"-p holidays expects a mapping such as \"{{'country': 'GB'}}\", got {value!r}") from None
    return document_holidays({"holidays": parsed}, "-p holidays") or {}


#: ... and the retail events they declare (notebook 08).
RETAIL_EVENTS_PARAMETER = "retail_events"


def declared_events(src: Source) -> list[str]:
    """The retail events the data declare (``retail_events:`` beside ``holidays:``), or the default
    list (crm_utils.demand.series.DEFAULT_RETAIL_EVENTS) when they declare none."""
    from crm_utils.demand.series import DEFAULT_RETAIL_EVENTS

    if isinstance(src, FolderSource):
        events = declared_retail_events(src.path / "mapping.yml")
    else:
        mapping_file = getattr(getattr(src, "mapping", None), "source", None)
        events = declared_retail_events(mapping_file) if mapping_file else None
    return list(DEFAULT_RETAIL_EVENTS) if events is None else events


def data_holidays(src: Source) -> dict | None:
    """The holiday calendar the data declare (``holidays:`` beside ``currency:``; see :func:`data_currency`)."""
    if isinstance(src, FolderSource):
        return declared_holidays(src.path / "mapping.yml")
    mapping_file = getattr(getattr(src, "mapping", None), "source", None)
    return declared_holidays(mapping_file) if mapping_file else None


def data_currency(src: Source) -> str | None:
    """The currency the data declare (ISO 4217): ``currency:`` in the data folder's ``mapping.yml``
    (written by ``crm-report import`` from its mapping, and by ``crm-report generate``), or in a
    database source's mapping file. None when they declare none: the notebooks then show amounts
    without a currency, never a guessed one."""
    if isinstance(src, FolderSource):
        return declared_currency(src.path / "mapping.yml")
    mapping_file = getattr(getattr(src, "mapping", None), "source", None)
    return declared_currency(mapping_file) if mapping_file else None


def run_parameters(src: Source, base: dict[str, object], extra: dict[str, str]) -> dict[str, object]:
    """What run.json records under ``parameters``: the month, the seed, the source as it is shown
    (a folder's ``data_dir``, a database's masked ``source``) and the ``-p`` values."""
    return {**{k: v for k, v in base.items() if k not in ("run_dir", "data_dir")}, **src.run_record(),
            "extra": extra}


def check_reader(src: Source, notebooks: list[Path], declared: dict[str, dict]) -> None:
    """Notebook 01 must declare every parameter through which the source reaches it."""
    readers = [nb.name for nb in notebooks if nb.name.startswith("01_")]
    if not readers:
        return
    missing = [name for name in src.notebook_parameters() if name not in declared[readers[0]]]
    if missing:
        raise ValueError(f"{readers[0]} has no '{missing[0]}' parameter, so it cannot read {src.kind}")


#: The environment variable through which the kernel launcher learns the runner's process id.
RUNNER_PID_ENV = "CRM_REPORT_RUNNER_PID"
#: The kernelspec's launcher: it asks Linux to kill the kernel when its parent, the runner, dies
#: (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, kept across exec), then becomes the ipykernel. Without it
#: a runner killed by SIGTERM or SIGKILL leaves its kernel computing on (ipykernel's own watch on its
#: parent is a thread, which cannot run while the kernel is deep in a call that holds the interpreter
#: lock). A runner that died before the request took effect is noticed (the parent is no longer the
#: runner) and the kernel never starts. Linux ties the kernel to the *thread* that started it:
#: papermill starts kernels from the thread that calls it, which outlives the notebook it runs.
KERNEL_LAUNCHER = f"""\
import os
import signal
import sys

try:
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0) != 0:  # 1: PR_SET_PDEATHSIG
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
except (AttributeError, OSError):  # not Linux: the kernel outlives a killed runner, as Jupyter's do
    pass
runner = os.environ.pop("{RUNNER_PID_ENV}", "")
if runner and os.getppid() != int(runner):
    sys.exit("the crm-report runner that started this kernel is gone")
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
"""


def _kernelspec_dir() -> Path:
    """A private kernelspec that runs *this* interpreter, placed first on JUPYTER_PATH.

    A user-level kernelspec named like ours cannot shadow it (papermill #251): JUPYTER_PATH
    takes precedence over the user and system data folders. The kernel starts through
    :data:`KERNEL_LAUNCHER`, so that it dies with this process.
    """
    root = Path(tempfile.mkdtemp(prefix="crm-kernel-"))
    spec = root / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "launch_kernel.py").write_text(KERNEL_LAUNCHER)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(spec / "launch_kernel.py"), "-f", "{connection_file}",
                 "--IPKernelApp.log_level=ERROR"],
        "display_name": f"Python ({Path(sys.prefix).name})", "language": "python",
        "env": {"PYTHONHASHSEED": "0", RUNNER_PID_ENV: str(os.getpid())}}))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("JUPYTER_PATH")]))
    return root


#: The report page's title, shown on the browser tab and in bookmarks (nbconvert's default: "Notebook").
REPORT_TITLE = i18n.N_("CRM monthly report · {month}")


@functools.cache
def quiet_shutdown_kernel_manager() -> type:
    """jupyter_client's kernel manager, except that shutting a kernel down does not interrupt it first.

    jupyter_client sends SIGINT before the shutdown request (to stop a cell still running); the
    notebooks have finished by then, and a kernel the signal catches inside a message handler logs
    ``[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.`` on the runner's standard error,
    which reads as a failure in a cron mail after a run that succeeded. Without the interrupt the
    kernel gets the shutdown request, then SIGTERM and SIGKILL if it does not exit in time, as
    before. Interrupts at other times (nbclient's cell timeout) are sent as usual.
    """
    from jupyter_client.manager import AsyncKernelManager

    class QuietShutdownKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:  # set by _async_shutdown_kernel just before it interrupts
                return
            await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

    return QuietShutdownKernelManager


def render_html(notebook: Path, out: Path, title: str | None = None, language: str = "en") -> Path:
    """The report: the executed notebook as HTML with code hidden and images embedded, titled ``title``,
    its page marked as written in ``language`` (``<html lang>``) with a font stack that has its script."""
    from nbconvert import HTMLExporter

    from crm_utils.charts import CSS_FONT_STACK

    # JupyterLab's look, plus each chart's alt text (crm_utils/report/templates/report)
    templates = Path(__file__).parent.parent / "report" / "templates"
    exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(templates)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    node = nbformat.read(notebook, as_version=4)
    if title:
        node.metadata["title"] = title  # the lab template's <title>; only the page, not the notebook file
    for cell in node.cells:  # headings and prose in the report's language (the catalogue holds each cell's text)
        if cell.cell_type == "markdown":
            cell.source = i18n.translate(cell.source, language)
    exporter.language_code = language  # the lab template's <html lang="...">
    body, _ = exporter.from_notebook_node(node, resources={"font_stack": CSS_FONT_STACK})
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


def run_month(month: str, source: str | Path | Source, reports_dir: str | Path, *, only: list[str] | None = None,
              extra: dict[str, str] | None = None, seed: int = DEFAULT_SEED,
              notebooks_dir: str | Path = NOTEBOOKS_DIR, progress: bool | None = None,
              allow_partial: bool = False, language: str = "en") -> RunResult:
    """Run the month's notebooks and swap the finished report folder into ``reports_dir/<month>``.

    ``source`` is a data folder, a database URL, a ``.duckdb`` file or a source config (``sources``).
    A month the data do not cover to its end (notebook 01's ``month_complete``) stops the run
    with :class:`PartialMonth` after notebook 01, leaving the month's last report untouched, unless
    ``allow_partial``: then every section says how far the data reach and compares the same days.
    ``language`` is the report's (``crm_utils.i18n``: 'en' or a catalogue's, e.g. 'zh-CN').
    """
    logging.getLogger("papermill").setLevel(logging.WARNING)  # its per-notebook banner is noise here
    parse_month(month)
    src = open_source(source).resolved()
    reports_dir = Path(reports_dir).resolve()
    notebooks = discover_notebooks(Path(notebooks_dir), only)
    extra = extra or {}
    declared = {nb.name: declared_parameters(nb) for nb in notebooks}
    if any(split_name(n)[1] == SOURCE_PARAMETER for n in extra):
        raise ValueError(f"set {SOURCE_PARAMETER} with --source, not -p")
    if any(split_name(n)[1] == LANGUAGE_PARAMETER for n in extra):
        raise ValueError(f"set {LANGUAGE_PARAMETER} with --language, not -p")
    language = i18n.parse_language(language)  # an unknown language stops here, naming the ones there are
    fonts = font_problem(language)  # a report of empty boxes is refused before anything runs
    if fonts:
        raise ValueError(fonts)
    check_extra(extra, declared)
    for name, value in extra.items():  # a mistyped currency is refused before anything runs
        if split_name(name)[1] == CURRENCY_PARAMETER:
            currency_code(value, "-p", "currency")
    check_reader(src, notebooks, declared)
    currency = data_currency(src)  # a currency that is not an ISO code stops the run here, in one line
    holidays = data_holidays(src)  # likewise a calendar that is not one
    declared_events(src)  # and an unknown retail event
    for name, value in extra.items():
        if split_name(name)[1] == HOLIDAYS_PARAMETER:
            holidays_parameter(value)
        if split_name(name)[1] == RETAIL_EVENTS_PARAMETER:
            data_retail_events(value)

    with _writing(reports_dir):
        reports_dir.mkdir(parents=True, exist_ok=True)
    with _lock_month(reports_dir, month):  # one run of a month at a time
        return _run_locked(month, src, reports_dir, notebooks, declared, extra, only, seed, progress, currency,
                           allow_partial, holidays, language)


def _run_locked(month: str, src: Source, reports_dir: Path, notebooks: list[Path],
                declared: dict[str, dict], extra: dict[str, str], only: list[str] | None, seed: int,
                progress: bool | None, currency: str | None, allow_partial: bool = False,
                holidays: dict | None = None, language: str = "en") -> RunResult:
    """Build the month's report in a work folder and swap it in; the caller holds the month's lock."""
    import papermill as pm

    final = reports_dir / month
    work = reports_dir / f".{month}.partial-{os.getpid()}"
    failed = reports_dir / f"{month}.failed"
    with _writing(reports_dir):
        _recover(reports_dir, month)
    # Before running: a file landing mid-run must not be credited. For a database this is also
    # where a wrong password, a missing table or column stops the run, before any notebook.
    fingerprint = src.fingerprint(month)
    if only and final.exists():
        previous = json.loads((final / "run.json").read_text()) if (final / "run.json").exists() else {}
        if previous.get("input", {}).get("combined_sha256") != fingerprint["combined_sha256"]:
            raise ValueError(f"--only reruns notebooks on top of the {month} report, but the input data "
                             f"differ from what that report was built from; run the whole month instead")
        written_in = previous.get("language") or i18n.SOURCE_LANGUAGE
        if written_in != language:  # the stages not rerun keep their sentences in the old language
            raise ValueError(f"--only reruns notebooks on top of the {month} report, which was written in "
                             f"{written_in}; its other notebooks' sentences would stay in {written_in}. Run the "
                             f"whole month with --language {language} instead")
    kernel_root = None
    try:  # nothing has run yet: a folder that cannot be written stops here, and leaves nothing behind
        if only and final.exists():
            with _writing(work):
                shutil.copytree(final, work)  # rerun some notebooks on top of the month's last good run
                (work / "report.html").unlink(missing_ok=True)
        with _writing(work):
            work.mkdir(parents=True, exist_ok=True)
        with _writing(Path(tempfile.gettempdir())):
            kernel_root = _kernelspec_dir()
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if kernel_root is not None:
            shutil.rmtree(kernel_root, ignore_errors=True)
        raise
    started = datetime.now(timezone.utc)
    durations: dict[str, float] = {}
    if progress is None:
        progress = sys.stderr.isatty()
    base = base_parameters(src, month, work, seed)
    # The run record is written before the notebooks run, so the report can show its parameters,
    # versions and input fingerprint; durations and the finishing time are added at the end.
    run_info = {
        "report_month": month, "seed": int(seed),
        "parameters": run_parameters(src, base, extra),
        "notebooks": [nb.name for nb in notebooks], "only": only,
        "durations_seconds": durations,
        "started_utc": started.isoformat(timespec="seconds"), "finished_utc": None,
        "kernel": f"{KERNEL_NAME} (python {platform.python_version()}, environment {Path(sys.prefix).name})",
        "versions": versions(), "input": fingerprint,
        "currency": currency,  # as the data declare it (None: not declared); ``-p currency=`` is in extra
        "allow_partial": allow_partial,
        "language": language,  # notebooks that do not declare the parameter read it here (notebook.start)
    }
    try:
        with _writing(work / "run.json"):
            (work / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(kernel_root, ignore_errors=True)
        raise
    skipped: dict[str, str] = {}
    try:
        for i, nb in enumerate(notebooks, 1):
            why = skipped_because(work, nb.name)
            if why:
                skipped[nb.name] = why
                log.info("[%d/%d] %s skipped: %s", i, len(notebooks), nb.name, why)
                continue
            params = notebook_parameters(src, base, declared[nb.name], extra, notebook=nb.name, currency=currency,
                                         holidays=holidays, language=language)
            log.info("[%d/%d] %s ...", i, len(notebooks), nb.name)
            t0 = time.perf_counter()
            try:
                # What must not be a parameter (parameters are written into the executed notebook),
                # such as a database password given in the URL, reaches notebook 01 this way.
                with src.kernel_environment():
                    pm.execute_notebook(str(nb), str(work / nb.name), parameters=params,
                                        kernel_name=KERNEL_NAME, cwd=str(nb.parent),
                                        progress_bar=progress, log_output=False,
                                        kernel_manager_class=quiet_shutdown_kernel_manager())
            except Exception as exc:  # PapermillExecutionError and kernel start failures alike
                durations[nb.name] = round(time.perf_counter() - t0, 2)
                message, cell = _failure_message(nb.name, exc)
                kept = _keep_failed(work, failed)
                raise RunFailed(message + f"\nThe executed notebook is kept in {(kept or work) / nb.name}; "
                                f"the last good report of {month} is untouched.", nb.name, cell, kept) from exc
            durations[nb.name] = round(time.perf_counter() - t0, 2)
            log.info("[%d/%d] %s done in %.1f s", i, len(notebooks), nb.name, durations[nb.name])
            check_month_complete(work, month, nb.name, allow_partial)

        metrics = collect_metrics(work)
        with _writing(work / "metrics.json"):
            (work / "metrics.json").write_text(
                json.dumps(metrics, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        # The report is the notebook the stage table names as such, not whichever sorts last.
        report = stages.find_notebook(work.glob("[0-9][0-9]_*.ipynb"), stages.REPORT)
        with _writing(work / "report.html"):
            title = i18n.translate(REPORT_TITLE, language).format(month=month)
            html = (render_html(report, work / "report.html", title, language)
                    if report is not None else None)
        if html is None:
            log.info("no %s notebook in this run: report.html is not written", stages.stage(stages.REPORT).notebook)
        run_info["skipped"] = skipped
        run_info["finished_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with _writing(work / "run.json"):
            (work / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
    except RunFailed:
        raise
    except PartialMonth:  # refused, not failed: nothing to keep, the last good report stays
        shutil.rmtree(work, ignore_errors=True)
        raise
    except (OutputError, OSError) as exc:  # the notebooks ran: fail the run as a failed notebook does
        problem = str(exc) if isinstance(exc, OutputError) else "{}: {}".format(*os_problem(exc, work))
        raise _finished_but_not_written(problem, month, work, failed) from exc
    except BaseException:
        _keep_failed(work, failed)
        raise
    finally:
        shutil.rmtree(kernel_root, ignore_errors=True)

    # Swap: the old report is removed only once the new one is in place, and comes back if that fails.
    old = reports_dir / f".{month}.old-{os.getpid()}"
    try:
        if final.exists():
            final.rename(old)
        work.rename(final)
    except BaseException as exc:
        if old.exists() and not final.exists():
            try:
                old.rename(final)
            except OSError:  # the next run of the month puts it back (_recover)
                pass
        if isinstance(exc, OSError):
            raise _finished_but_not_written(cannot_write(exc, final), month, work, failed) from exc
        raise
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(failed, ignore_errors=True)
    return RunResult(month, final, final / html.name if html is not None else None, durations)


def skipped_because(work: Path, notebook: str) -> str:
    """Why the run skips a notebook, or '': a stage about customers (``Stage.needs_customers``)
    when the data stage found no order line with a customer id (every sale a guest sale)."""
    stage = stages.stage_of(notebook)
    if stage is None or not stage.needs_customers:
        return ""
    data = next((v for k, v in collect_metrics(work).items() if stages.notebook_stem(k) == stages.stage("data").notebook),
                None)
    if not data:
        return ""
    kept = (data.get("tables") or {}).get("orders", {}).get("kept")
    if kept and data.get("guest_lines") == kept:
        return "every order line is a guest sale (no customer id): there are no customers to analyse"
    return ""


def check_month_complete(work: Path, month: str, notebook: str, allow_partial: bool) -> None:
    """After the data stage's notebook: refuse a month the data stop inside (see :class:`PartialMonth`)."""
    import pandas as pd

    if stages.notebook_stem(notebook) != stages.stage("data").notebook:
        return
    figures = collect_metrics(work).get(Path(notebook).stem, {})
    if figures.get("month_complete", True) or allow_partial:
        if not figures.get("month_complete", True):
            log.info("partial month: the data end on %s; every section says so", figures.get("data_end"))
        return
    end = figures.get("data_end")
    raise PartialMonth(f"{month} is not complete in the data: they end on {end}. Report a complete month "
                       f"(--month {pd.Period(month, freq='M') - 1}), or pass --allow-partial to report the days up "
                       f"to {end}, marked partial and compared with the same days of earlier months")


def _keep_failed(work: Path, failed: Path) -> Path | None:
    """Move a run's work folder to ``<month>.failed``; where its notebooks are now (None: nowhere)."""
    if not work.exists():
        return None
    shutil.rmtree(failed, ignore_errors=True)
    try:
        work.rename(failed)
    except OSError:
        return work
    return failed


def _finished_but_not_written(problem: str, month: str, work: Path, failed: Path) -> RunFailed:
    """The notebooks ran but their run could not be written or swapped in: a failed run, kept if possible."""
    kept = _keep_failed(work, failed)
    where = f"the executed notebooks are kept in {kept}" if kept is not None else "nothing could be kept"
    return RunFailed(f"the notebooks ran, but {problem}\n{where[:1].upper()}{where[1:]}; "
                     f"the last good report of {month} is untouched.", None, None, kept)


def _lock_month(reports_dir: Path, month: str):
    """An exclusive lock on the month, so two runs of it cannot interleave their swaps.

    The returned file object is a context manager: leaving it closes the file and so releases
    the lock, on success and on error alike.
    """
    import fcntl

    with _writing(reports_dir / f".{month}.lock"):
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


def latest_complete_month(source: str | Path | Source) -> str:
    """The last month the orders cover to its final day: the default month of ``make report``.

    Derived from the data, not from today's date, so the same data always gives the same month.
    """
    src = open_source(source)
    return latest_month_of(src.order_dates(), "orders")
