"""``crm-report``: generate data, import an export, run the monthly notebooks, find the latest month.

Exit codes: 0 success; 1 a notebook failed (named, with its cell), including a data-contract
error found by notebook 01, or the notebooks ran but their report folder could not be written;
2 bad arguments, or a problem found before any notebook runs (missing data folder, a bad mapping,
unreadable orders when looking for the latest month, a run of the same month already in
progress, a reports folder that cannot be written; for a database: cannot connect, wrong
password, a missing table or column). Every exit-2 problem is one line on standard error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from crm_utils.config import DEFAULT_DATA_DIR, DEFAULT_REPORTS_DIR, DEFAULT_SEED, display_path, parse_month


def one_line(exc: BaseException) -> str:
    """An error as one line: a pydantic ValidationError as 'where: what' per mistake, anything else with
    its line breaks folded, so a problem found before any notebook reads as one line in a log."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__module__.startswith("pydantic"):
        try:
            parts = [f"{'.'.join(map(str, e.get('loc', ()))) or 'value'}: {e.get('msg', '')}" for e in errors()]
            return f"{getattr(exc, 'title', 'mapping')}: " + "; ".join(parts)
        except Exception:  # noqa: BLE001 - fall back to the text below
            pass
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        from crm_utils.run.pipeline import os_problem

        return "{}: {}".format(*os_problem(exc, exc.filename))
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def _month(value: str) -> str:
    if value == "latest":
        return value
    try:
        parse_month(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crm-report",
        description="CRM analytics kit: synthetic data, the monthly notebook run and its report.",
        epilog="Examples:\n  crm-report generate --out data/raw\n"
               "  crm-report import 'Online Retail.xlsx' --mapping online_retail --out data/raw\n"
               "  crm-report run --month 2026-10\n  crm-report run --from 2026-01 --to 2026-10\n"
               "  crm-report run --month 2026-10 --source postgresql://crm_reader@db.example.com/crm\n"
               "  crm-report run --month 2026-10 --only 01 -p some_parameter=3",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic CRM data set with its ground truth",
                       description="Write customers, orders, interactions and surveys with planted "
                                   "structure and dirt, plus _truth/ for checking what the notebooks recover.")
    g.add_argument("--customers", type=int, default=10_000, help="number of customers (default 10000)")
    g.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    g.add_argument("--end", default="2026-10-31", help="last day of data, YYYY-MM-DD (default %(default)s)")
    g.add_argument("--months", type=int, default=36, help="months of history (default %(default)s)")
    g.add_argument("--out", type=Path, default=DEFAULT_DATA_DIR, help="output folder (default data/raw)")
    g.add_argument("--format", choices=("csv", "parquet"), default="csv",
                   help="file format of the tables (default csv; parquet for large sets)")
    g.add_argument("--workers", type=int, default=None,
                   help="processes sharing the chunks of 100,000 customers (default: one per core); "
                        "the files do not depend on it")
    g.add_argument("--force", action="store_true", help="overwrite tables already in --out")
    g.add_argument("--locale", choices=("en", "zh_CN"), default="en",
                   help="where the shop is: en (default; Europe, English text, EUR) or zh_CN (China: Chinese "
                        "names, provinces, notes and comments, CNY, China's holidays and retail events)")

    r = sub.add_parser("run", help="run the numbered notebooks for a month and write its report folder",
                       description="Execute notebooks/NN_*.ipynb in order with papermill and write "
                                   "reports/<month>/ (executed notebooks, report.html, metrics.json, run.json).")
    r.add_argument("--month", type=_month, default=None,
                   help="report month YYYY-MM, or 'latest' (the default) for the last month the data covers "
                        "completely")
    r.add_argument("--from", dest="from_month", type=_month, metavar="YYYY-MM",
                   help="backfill: run every month from this one to --to, oldest first, so each report "
                        "compares with the one before it")
    r.add_argument("--to", dest="to_month", type=_month, metavar="YYYY-MM", help="last month of a backfill")
    _source_arguments(r)
    r.add_argument("--reports-dir", type=Path, default=DEFAULT_REPORTS_DIR, help="where report folders go")
    r.add_argument("--only", help="comma-separated notebook numbers to rerun, e.g. 01,03 "
                                  "(on top of the month's existing report)")
    r.add_argument("-p", "--param", action="append", metavar="[NN.]NAME=VALUE",
                   help="extra notebook parameter, converted to the type of the notebook's default; "
                        "NAME=VALUE sets it in every notebook declaring it (with a warning when that is "
                        "more than one), NN.NAME=VALUE in notebook NN only (e.g. -p 03.k_max=6); "
                        "-p currency=GBP overrides the currency the data declare")
    r.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed passed to every notebook")
    r.add_argument("--language", default="en",
                   help="language of the report and its charts: en (the default) or one with a message "
                        "catalogue in crm_utils/locale, e.g. zh-CN")
    r.add_argument("--allow-partial", action="store_true",
                   help="report a month the data end inside (refused otherwise, exit 2): every section says "
                        "'partial: data to <day>' and compares the same days of earlier months")
    r.add_argument("--quiet", action="store_true", help="only print the report path or the error")

    i = sub.add_parser(
        "import", help="convert a foreign export (shop system, CRM) into the contract's tables",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert an export with other file and column names, date formats, units and category\n"
                    "values into orders.csv (and customers, interactions, surveys) in --out, as a mapping\n"
                    "file says (format: data/README.md). Row for row: nothing is dropped or judged here.\n"
                    "Values that do not convert are written as they were and quarantined by the run; the\n"
                    "mapping's row rules and duplicate policy go to --out/mapping.yml and act at every run;\n"
                    "--out/import.json records what came from where.",
        epilog="Shipped mappings (data/mappings/):\n"
               "  online_retail  UCI Online Retail and Online Retail II (.xlsx or .csv)\n"
               "  generic_crm    the example CRM export in data/examples/generic_crm/\n\n"
               "Examples:\n"
               "  crm-report import 'Online Retail.xlsx' --mapping online_retail --out data/raw\n"
               "  crm-report import data/examples/generic_crm --mapping generic_crm --out data/raw --force\n"
               "  crm-report import exports/ --mapping my_mapping.yml --out data/raw --format parquet\n"
               "  crm-report run --month latest --data-dir data/raw\n\n"
               "Exit codes: 0 imported; 2 a file, column or mapping problem (the message names the file,\n"
               "the column and example values) or bad arguments.")
    i.add_argument("source", type=Path,
                   help="the export: a folder holding its files (named in the mapping's 'file' entries, "
                        "or orders.csv etc.), or a single file (then it is the orders table unless --table)")
    i.add_argument("--mapping", required=True, metavar="NAME_OR_FILE",
                   help="a shipped mapping's name (online_retail, generic_crm) or a mapping YAML file")
    i.add_argument("--out", type=Path, required=True, help="folder for the contract tables (e.g. data/raw)")
    i.add_argument("--table", choices=("orders", "customers", "interactions", "surveys"),
                   help="which table a single source file holds (default: orders)")
    i.add_argument("--format", choices=("csv", "parquet"), default="csv",
                   help="file format of the tables written (default csv; parquet for large exports)")
    i.add_argument("--force", action="store_true", help="replace tables already in --out")

    lm = sub.add_parser("latest-month", help="print the last month the orders cover completely")
    _source_arguments(lm)

    c = sub.add_parser("check-report", help="open a report.html in headless Chromium and check what a reader sees",
                       description="Render the report as a browser does, save a screenshot, and fail (exit 1) "
                                   "if an image is broken or a code cell is visible. Needs Debian's chromium.")
    c.add_argument("html", type=Path, help="the report.html to check")
    c.add_argument("--screenshot", type=Path, help="where to save a PNG screenshot (default: beside the report)")
    return p


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data-dir", type=Path, default=None,
                       help="folder with the input tables (default data/raw)")
    where.add_argument("--source", metavar="URL_OR_FILE",
                       help="a database instead: postgresql://user@host:5432/db, duckdb:///path/crm.duckdb, "
                            "duckdb:///path/parquet-folder, or a source config .yml holding one (with its "
                            "mapping and password; see README). The password comes from the config, "
                            "CRM_SOURCE_PASSWORD or PGPASSWORD, and is never written anywhere")


def _source(args: argparse.Namespace) -> str | Path:
    return args.source or args.data_dir or DEFAULT_DATA_DIR


def _generate(args: argparse.Namespace) -> int:
    from crm_utils.synth import SynthConfig, generate

    existing = [p for p in args.out.glob("*") if p.suffix in (".csv", ".parquet")] if args.out.exists() else []
    if existing and not args.force:
        print(f"crm-report: {display_path(args.out)} already holds {len(existing)} table file(s); "
              f"pass --force to overwrite", file=sys.stderr)
        return 2
    cfg = SynthConfig(customers=args.customers, seed=args.seed, end=args.end, months=args.months,
                      file_format=args.format, locale=args.locale)
    try:
        summary = generate(args.out, cfg, progress=sys.stderr.isatty(), workers=args.workers)
    except OSError as exc:  # a read-only or full --out
        print(f"crm-report: {one_line(exc)}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{k} {v:,}" for k, v in summary.rows.items())
    print(f"wrote {display_path(args.out)}: {rows} ({summary.seconds:.1f} s); ground truth in _truth/")
    return 0


def _run(args: argparse.Namespace) -> int:
    from crm_utils.data.database import SourceError
    from crm_utils.data.schema import ContractError
    from crm_utils.run.pipeline import OutputError, RunFailed, latest_complete_month, parse_extra, run_month

    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    done: list[str] = []
    try:
        months = _months_to_run(args, lambda: latest_complete_month(_source(args)))
        extra = parse_extra(args.param)
        only = [o for o in args.only.split(",") if o.strip()] if args.only else None
        for i, month in enumerate(months, 1):
            if len(months) > 1:
                logging.getLogger("crm_report").info("month %d/%d: %s", i, len(months), month)
            result = run_month(month, _source(args), args.reports_dir, only=only, extra=extra, seed=args.seed,
                               allow_partial=args.allow_partial, language=args.language)
            done.append(month)
            if not args.quiet:
                print(f"report for {month} written in {sum(result.durations.values()):.0f} s:", file=sys.stderr)
            print(result.html or result.report_dir, flush=True)
    except RunFailed as exc:
        print(f"crm-report: run failed: {exc}", file=sys.stderr)
        if done:
            print(f"crm-report: the backfill stopped there; months done: {', '.join(done)}", file=sys.stderr)
        return 1
    except (ContractError, SourceError, OutputError, ValueError, OSError) as exc:
        # Found before the month's notebooks ran (the pipeline turns what goes wrong after into RunFailed).
        print(f"crm-report: {one_line(exc)}", file=sys.stderr)
        if done:
            print(f"crm-report: the backfill stopped there; months done: {', '.join(done)}", file=sys.stderr)
        return 2
    return 0


def _months_to_run(args: argparse.Namespace, latest) -> list[str]:
    """The month, or the months of a backfill, in the order they must run (oldest first)."""
    import pandas as pd

    if args.from_month or args.to_month:
        if not (args.from_month and args.to_month) or "latest" in (args.from_month, args.to_month):
            raise ValueError("a backfill needs both --from and --to as YYYY-MM months")
        if args.month:
            raise ValueError("give either --month or --from/--to, not both")
        start, end = parse_month(args.from_month), parse_month(args.to_month)
        if start > end:
            raise ValueError(f"--from {start} is after --to {end}")
        return [str(p) for p in pd.period_range(start, end, freq="M")]
    month = args.month or "latest"
    return [latest() if month == "latest" else month]


def _import(args: argparse.Namespace) -> int:
    from crm_utils.data.importer import import_export
    from crm_utils.data.schema import ContractError

    try:
        result = import_export(args.source, args.mapping, args.out, table=args.table,
                               file_format=args.format, force=args.force)
    except (ContractError, ValueError, OSError) as exc:
        print(f"crm-report: {one_line(exc)}", file=sys.stderr)
        return 2
    for row in result.summary.to_dict(orient="records"):
        print(f"{row['table']}: {row['from']} -> {row['written']}, {row['rows']:,} rows")
        for key in ("renamed or derived", "ignored columns", "left as written (quarantined at run)",
                    "exact duplicates (merged at run)"):
            if row[key]:
                print(f"  {key}: {row[key]}")
    print(f"currency: {result.currency} (from the mapping)" if result.currency else
          "currency: none declared in the mapping; amounts will be shown without a currency "
          "(add e.g. 'currency: EUR' at the top of the mapping)")
    # A leads-only export (a lead-scoring table) has no orders, which the monthly run needs.
    nxt = (f"crm-report run --data-dir {args.out}" if "orders" in result.written else
           "the monthly run needs an orders table; without one, analyse the leads with "
           f"crm_utils.funnel.leads.read_export('{args.out}')" if "leads" in result.written else
           f"crm-report run --data-dir {args.out} (after adding an orders table, which the run needs)")
    print(f"wrote {args.out}: {', '.join(p.name for p in result.written.values())}, "
          f"mapping.yml (row rules for the run), import.json; next: {nxt}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "generate":
        return _generate(args)
    if args.command == "import":
        return _import(args)
    if args.command == "run":
        return _run(args)
    if args.command == "latest-month":
        from crm_utils.data.database import SourceError
        from crm_utils.data.schema import ContractError
        from crm_utils.run.pipeline import latest_complete_month

        try:
            print(latest_complete_month(_source(args)))
        except (ContractError, SourceError, ValueError, OSError) as exc:
            print(f"crm-report: {one_line(exc)}", file=sys.stderr)
            return 2
        return 0
    if args.command == "check-report":
        return _check_report(args)
    return 2


def _check_report(args: argparse.Namespace) -> int:
    import subprocess

    from crm_utils.run.render_check import check_report

    shot = args.screenshot or args.html.with_suffix(".png")
    try:
        result = check_report(args.html, shot)
    except (OSError, ValueError, RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"crm-report: {one_line(exc)}", file=sys.stderr)
        return 2
    print(f"{args.html}: {result.images} images, {result.tables} tables, {len(result.headings)} sections; "
          f"screenshot {shot}")
    for problem in result.problems:
        print(f"crm-report: {problem}", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
