"""Writing: chunks of customers made (in parallel) and appended, in order, to one file per table.

:func:`generate` cuts the customers into chunks (:class:`~crm_utils.synth.world.ChunkSpec`);
each chunk job draws the behaviour and the dirt from the chunk's own random stream and writes
its tables as Parquet parts, which are then appended in chunk order to the CSV or Parquet
files, so the files do not depend on how many workers made them. The ground truth goes to
``_truth/``: customers (persona, archetype, churn, canonical id), interactions (the need each
note voices), every dirty row, the product catalogue, leads (each lead's uncensored path) with the
planted funnel (``funnel.json``), the outreach contacts and their planted effect per channel
(``contacts``, ``contact_effects``), and a manifest.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from crm_utils.synth.behaviour import behave, plant_affinities
from crm_utils.synth.dirt import DirtLog, OrderLines, inject_dirt, render_orders
from crm_utils.synth import leads as synth_leads
from crm_utils.synth.locales import EN, locale_of
from crm_utils.synth.outreach import draw_outreach, effect_truth, with_outreach
from crm_utils.synth.world import (ARCHETYPES, OUTREACH_CHANNELS, OUTREACH_WINDOW_DAYS, PERSONAS, Catalogue,
                                   ChunkSpec, SynthConfig, World, extra_ids_per_chunk)

TABLES = ("customers", "orders", "interactions", "surveys", "leads")
#: The synthetic shop's currency, declared beside its tables in ``mapping.yml`` as an imported
#: export's is (``crm-report import``), so the report labels amounts from the data, not a default.
#: (The default locale's; another locale declares its own, see :mod:`~crm_utils.synth.locales`.)
CURRENCY = EN.currency


class _TableWriter:
    """Appends Arrow tables to one CSV or Parquet file per table, in the first part's schema."""

    def __init__(self, path: Path, file_format: str):
        self.path = path
        self.format = file_format
        self._writer = None
        self._schema = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._schema = table.schema
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self.path, table.schema)
            else:
                self._writer = pacsv.CSVWriter(self.path, table.schema,
                                               write_options=pacsv.WriteOptions(quoting_style="needed"))
        self._writer.write_table(table.cast(self._schema))
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _as_arrow(df: pd.DataFrame) -> pa.Table:
    """Text columns as Arrow strings (an all-missing column stays text); numbers stay numbers."""
    out = {}
    for col in df.columns:
        s = df[col]
        out[col] = s.astype(pd.StringDtype("pyarrow")) if s.dtype == object else s
    return pa.Table.from_pandas(pd.DataFrame(out), preserve_index=False)


@dataclass
class GenerationSummary:
    """Where the data went, how many customers and rows per table, and how long it took."""

    out_dir: str
    customers: int
    rows: dict[str, int]
    seconds: float


@dataclass
class ChunkResult:
    """What a chunk job hands back besides its Parquet parts: row counts and its ground truth."""

    rows: dict[str, int]
    dirt: pd.DataFrame  # table, row (within the chunk), kind
    customers: pd.DataFrame
    interactions: pd.DataFrame
    leads: pd.DataFrame
    contacts: pd.DataFrame  # the outreach contacts (crm_utils.synth.outreach)


def _chunk_leads(cfg: SynthConfig, k: int, clean) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chunk's leads from their own stream: the other tables' stream is not touched."""
    lines = clean.orders
    bought = lines[(lines["unknown_id"] == 0) & (lines["quantity"] > 0)]
    first = bought.groupby("cust")["order_date"].min()
    first.index = clean.customers["customer_id"].to_numpy()[first.index.to_numpy()]
    rng = np.random.default_rng([cfg.seed, k, synth_leads.LEADS_STREAM])
    return synth_leads.draw_leads(rng, cfg.start_ts, cfg.end_ts, len(clean.customers), first, k,
                                  locale_of(cfg.locale).price_factor)


def _chunk_job(cfg: SynthConfig, k: int, part_dir: str) -> ChunkResult:
    """Generate chunk ``k`` and write its tables as Parquet parts; return its truth and row counts.

    Every chunk has its own random stream and id ranges, so chunks can be made in any order,
    in parallel, and still give the same files.
    """
    world = World.build(cfg)
    spec = ChunkSpec.of(cfg, k)
    rng = np.random.default_rng([cfg.seed, k])
    log = DirtLog(rng)
    clean = behave(rng, world, spec)
    leads, leads_truth = _chunk_leads(cfg, k, clean)  # from the clean tables, before the dirt
    outreach = draw_outreach(world, spec, clean.people, clean.activity, clean.drawn_orders)  # its own stream
    chunk = with_outreach(inject_dirt(log, world, spec, clean), outreach, world)
    # The planted affinities' lines go last, after the dirt: every dirty row keeps its number and no
    # other table sees a different random draw (they are clean lines of orders that exist).
    planted = plant_affinities(world, spec, clean.orders)
    chunk.orders = pd.concat([chunk.orders, render_orders(OrderLines.of(planted), chunk.customers["customer_id"],
                                                          world.catalogue)], ignore_index=True)
    if len(chunk.customers) - spec.size > extra_ids_per_chunk(cfg):
        raise ValueError("duplicate_customers rate leaves no room for the planted duplicate ids")
    rows = {}
    for t in TABLES:
        table = leads if t == "leads" else getattr(chunk, t)
        pq.write_table(_as_arrow(table), Path(part_dir) / f"{t}-{k:05d}.parquet")
        rows[t] = len(table)
    truth_interactions = pd.concat([clean.truth_interactions, outreach.truth[["interaction_id"]].assign(
        need_category=None)], ignore_index=True)
    return ChunkResult(rows, log.frame(), chunk.truth_customers, truth_interactions, leads_truth, outreach.truth)


def _check(cfg: SynthConfig) -> None:
    if cfg.file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', got {cfg.file_format!r}")
    if cfg.customers < 50:
        raise ValueError(f"need at least 50 customers to plant every kind of dirt, got {cfg.customers}")


def _n_chunks(cfg: SynthConfig) -> int:
    return -(-cfg.customers // cfg.chunk_customers)


def _chunk_results(stack: ExitStack, cfg: SynthConfig, part_dir: str, workers: int,
                   progress: bool) -> Iterable[ChunkResult]:
    """The chunks' results in chunk order, made here (one worker) or by a pool of processes."""
    n_chunks = _n_chunks(cfg)
    if workers == 1:
        results = (_chunk_job(cfg, k, part_dir) for k in range(n_chunks))
    else:
        pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=get_context("spawn")))
        results = pool.map(_chunk_job, [cfg] * n_chunks, range(n_chunks), [part_dir] * n_chunks)
    if progress:
        from tqdm.auto import tqdm
        results = tqdm(results, total=n_chunks, desc="generating", unit="chunk")
    return results


def _append_chunks(results: Iterable[ChunkResult], writers: dict[str, _TableWriter],
                   part_dir: str) -> dict[str, list[pd.DataFrame]]:
    """Append each chunk's parts to the table files, in chunk order; collect its ground truth,
    with dirty rows renumbered to rows of the whole files."""
    truth_parts: dict[str, list[pd.DataFrame]] = {"customers": [], "interactions": [], "dirt": [], "leads": [],
                                                  "contacts": []}
    for k, res in enumerate(results):  # in chunk order, so files do not depend on workers
        d = res.dirt
        d["row"] = d["row"] + d["table"].map({t: writers[t].rows for t in TABLES}).astype(np.int64)
        truth_parts["dirt"].append(d)
        truth_parts["customers"].append(res.customers)
        truth_parts["interactions"].append(res.interactions)
        truth_parts["leads"].append(res.leads)
        truth_parts["contacts"].append(res.contacts)
        for t in TABLES:
            part = Path(part_dir) / f"{t}-{k:05d}.parquet"
            writers[t].write(pq.read_table(part))
            part.unlink()
    return truth_parts


def _write_truth(truth_dir: Path, cfg: SynthConfig, truth_parts: dict[str, list[pd.DataFrame]],
                 rows: dict[str, int]) -> None:
    """``_truth/``: customers, interactions, contacts, contact effects, dirt, products, the planted product
    affinities and leads as Parquet, the planted funnel, and manifest.json."""
    pd.concat(truth_parts["customers"], ignore_index=True).to_parquet(truth_dir / "customers.parquet", index=False)
    pd.concat(truth_parts["interactions"], ignore_index=True).to_parquet(
        truth_dir / "interactions.parquet", index=False)
    contacts = pd.concat(truth_parts["contacts"], ignore_index=True)
    contacts.to_parquet(truth_dir / "contacts.parquet", index=False)
    effect_truth(contacts).to_parquet(truth_dir / "contact_effects.parquet", index=False)
    dirt = pd.concat(truth_parts["dirt"], ignore_index=True).sort_values(["table", "row", "kind"])
    dirt.to_parquet(truth_dir / "dirt.parquet", index=False)
    pd.concat(truth_parts["leads"], ignore_index=True).to_parquet(truth_dir / "leads.parquet", index=False)
    (truth_dir / "funnel.json").write_text(json.dumps(synth_leads.planted(locale_of(cfg.locale).price_factor),
                                                     indent=2))
    locale = locale_of(cfg.locale)
    catalogue = Catalogue.build(cfg.seed, locale.price_factor)
    catalogue.frame().to_parquet(truth_dir / "products.parquet", index=False)
    catalogue.affinities().drop(columns=["antecedent_index", "consequent_index"]).to_parquet(
        truth_dir / "affinities.parquet", index=False)
    manifest = {
        "generator": "crm_utils.synth", "config": {**asdict(cfg), "start": str(cfg.start_ts.date())},
        "rows": rows, "dirt_counts": dirt.groupby(["table", "kind"]).size().rename("rows")
        .reset_index().to_dict(orient="records"),
        "personas": [p.name for p in PERSONAS], "archetypes": [x.name for x in ARCHETYPES],
        "currency": locale.currency,
        "retail_events": locale.retail_events(list(range(cfg.start_ts.year, cfg.end_ts.year + 1)))
        .assign(date=lambda e: e["date"].dt.strftime("%Y-%m-%d")).to_dict(orient="records"),
        "outreach": {"window_days": OUTREACH_WINDOW_DAYS, "channels": OUTREACH_CHANNELS},
        "note": "Ground truth for tests and for checking what the notebooks recover. "
                "No notebook reads this folder.",
    }
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))


def generate(out_dir: str | Path, config: SynthConfig | None = None, progress: bool = False,
             workers: int | None = None) -> GenerationSummary:
    """Write the four tables to ``out_dir``, its ``mapping.yml`` declaring the currency, and the ground
    truth to ``out_dir/_truth``.

    Deterministic: the same config writes byte-identical files, whatever today's date is and
    however many ``workers`` (processes, default: one per core) share the chunks of 100,000
    customers.
    """
    cfg = config or SynthConfig()
    _check(cfg)
    locale_of(cfg.locale)  # an unknown locale fails here, before any file is written
    t0 = time.perf_counter()
    out = Path(out_dir)
    truth_dir = out / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        for ext in ("csv", "parquet"):
            (out / f"{t}.{ext}").unlink(missing_ok=True)
    ext = "parquet" if cfg.file_format == "parquet" else "csv"
    workers = max(1, min(workers or os.cpu_count() or 1, _n_chunks(cfg)))

    with tempfile.TemporaryDirectory(prefix=".parts-", dir=out) as part_dir, ExitStack() as stack:
        writers = {t: _TableWriter(out / f"{t}.{ext}", cfg.file_format) for t in TABLES}
        for w in writers.values():
            stack.callback(w.close)
        results = _chunk_results(stack, cfg, part_dir, workers, progress)
        truth_parts = _append_chunks(results, writers, part_dir)

    rows = {t: writers[t].rows for t in TABLES}
    _write_truth(truth_dir, cfg, truth_parts, rows)
    # The currency and holiday calendar, declared as an imported export's are (crm_utils.synth.locales).
    (out / "mapping.yml").write_text(locale_of(cfg.locale).mapping_yml, encoding="utf-8")
    return GenerationSummary(str(out), cfg.customers, rows, time.perf_counter() - t0)


def load_truth(data_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The ground truth written beside generated data (for tests and checks, never notebooks)."""
    d = Path(data_dir) / "_truth"
    return {p.stem: pd.read_parquet(p) for p in sorted(d.glob("*.parquet"))}
