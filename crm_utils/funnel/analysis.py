"""The sales funnel: conversion at each stage (with Wilson intervals) overall, by source and by month,
stage durations, the open pipeline and its stalled leads, the cohort view, and what a source's
won customers have bought since.

Conversion into a stage counts only the leads whose fate at the stage before is known: a lead
still open at that stage may yet move on, so counting it as failed would bias every recent month
downwards. A stage rate is therefore "moved on / (moved on + lost there)".
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from crm_utils.data.schema import LEAD_STAGES
from crm_utils.funnel.leads import STAGE_DATES, Leads, stage_word
from crm_utils.i18n import _
from crm_utils.notebook import date, money, number, percent

#: Confidence level of every interval of this stage (the kit's usual 95%).
CONFIDENCE = 0.95
#: An open lead has stalled when it has waited at its stage longer than this share of the leads
#: that did leave that stage (moved on or were closed): 0.9 flags the slowest tenth, a share a
#: sales team can chase, judged against the shop's own pace rather than a fixed number of days.
STALL_QUANTILE = 0.9
#: A stage needs this many leads that left it before its wait can set a stall threshold: fewer
#: give a 90th percentile that moves with one lead.
MIN_LEFT_FOR_STALL = 20
#: Cohort view: share of a month's leads won within these many days of coming in.
COHORT_HORIZONS = (30, 60, 90, 180)
#: What a source's customers are worth: revenue within this many days of the win, for wins at
#: least that long before the cutoff, so every customer is followed for the same time (half a year
#: covers a few repeat purchases of a typical shop; longer leaves few wins to compare).
VALUE_DAYS = 180
#: A source (or month) with fewer decided leads than this gets no rate in the sentences: its
#: Wilson interval spans more than +/- 20 points.
MIN_DECIDED = 20



def wilson(k: np.ndarray | int, n: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of k successes in n trials (NaN where n is 0)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1)
    low, high = proportion_confint(k, safe, alpha=1 - CONFIDENCE, method="wilson")
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def stage_table(df: pd.DataFrame, stages: tuple[str, ...] = LEAD_STAGES) -> pd.DataFrame:
    """Per transition: leads that reached the stage before, moved on, were lost there (or stalled
    there: an open lead that has waited longer than STALL_QUANTILE of those that left counts as
    lost), are still open there, and the rate moved on / decided with its Wilson interval."""
    reached, status = df["reached"].to_numpy(), df["status"].to_numpy().copy()
    if "stalled" in df.columns:
        status[df["stalled"].to_numpy(dtype=bool)] = "lost"
    rows = []
    for before, stage in zip(stages[:-1], stages[1:]):  # the export's stages only (Leads.stages)
        i, j = LEAD_STAGES.index(before), LEAD_STAGES.index(stage)
        at_before = reached >= i
        moved = int((reached >= j).sum())
        lost = int(((reached >= i) & (reached < j) & (status == "lost")).sum())
        open_ = int(((reached >= i) & (reached < j) & (status == "open")).sum())
        rows.append({"stage": stage, "from": before, "reached_before": int(at_before.sum()),
                     "moved_on": moved, "lost_there": lost, "open_there": open_, "decided": moved + lost})
    out = pd.DataFrame(rows)
    out["rate"] = np.where(out["decided"] > 0, out["moved_on"] / out["decided"].where(out["decided"] > 0), np.nan)
    out["ci_low"], out["ci_high"] = wilson(out["moved_on"], out["decided"])
    return out


def won_rate(df: pd.DataFrame) -> dict:
    """Won among the closed leads (won, lost, or stalled: counted as lost), with its Wilson interval."""
    status = df["status"].mask(df["stalled"], "lost") if "stalled" in df.columns else df["status"]
    won, closed = int((status == "won").sum()), int(status.isin(["won", "lost"]).sum())
    low, high = wilson(won, closed)
    return {"leads": len(df), "closed": closed, "won": won, "won_rate": won / closed if closed else np.nan,
            "ci_low": float(low), "ci_high": float(high)}


def _needs_leads(step):
    """A step of the study returns None when there are no leads (the study's skip_note says why), so
    the notebook's cells need no branch of their own."""
    @functools.wraps(step)
    def guarded(self, *args, **kwargs):
        return step(self, *args, **kwargs) if self.available else None
    return guarded


class FunnelStudy:
    """The funnel of one report month, from the prepared leads (:func:`crm_utils.funnel.leads.prepare`)."""

    def __init__(self, leads: Leads | None, currency: str | None = None):
        self.leads = leads
        self.currency = currency
        if self.available:
            #: the stages this export shows (an export without stage dates: created and won)
            self.stages = self.leads.stages
            self.leads.frame["stalled"] = self._stalled()

    @property
    def available(self) -> bool:
        return self.leads is not None and len(self.leads.frame) > 0

    def skip_note(self) -> str:
        """Why there is no funnel ("" when there is one)."""
        if self.leads is None:
            return _("No leads table in this data: the sales funnel needs one (lead_id, created_date, source, "
                     "stage dates, outcome; see data/README.md, 'leads'). This notebook shows nothing else.")
        if not len(self.leads.frame):
            return _("The leads table holds no lead known at the report month's end: there is no funnel to show.")
        return ""

    def known_note(self) -> str:
        """How many leads the funnel holds, and how many events it leaves for later months."""
        if not self.available:
            return ""
        values = {"leads": number(len(self.leads.frame)), "after": number(self.leads.after_cutoff),
                  "stages": " → ".join(map(stage_word, self.stages))}
        if self.leads.cutoff is None:
            return _("{leads} leads known; {after} stage or outcome dates after it are not known yet and left out. "
                     "Stages this export records: {stages}.").format(**values)
        return _("{leads} leads known at {cutoff}; {after} stage or outcome dates after it are not known yet and left "
                 "out. Stages this export records: {stages}.").format(
            cutoff=f"{date(self.leads.cutoff)} {self.leads.cutoff:%H:%M}", **values)

    def cannot_note(self) -> str:
        """What this export cannot show, said once."""
        if not self.available or not self.leads.cannot:
            return ""
        return _("This data cannot show everything: {what}.").format(what=_("; ").join(self.leads.cannot))

    # -- conversion ------------------------------------------------------------------------

    @_needs_leads
    def overall(self) -> pd.DataFrame:
        return stage_table(self.leads.frame, self.stages)

    @_needs_leads
    def by(self, column: str) -> pd.DataFrame:
        """The stage table for each value of ``column`` (source, month), stacked."""
        df = self.leads.frame
        parts = [stage_table(grp, self.stages).assign(**{column: key}) for key, grp in df.groupby(column, sort=True, observed=True)]
        out = pd.concat(parts, ignore_index=True)
        return out[[column] + [c for c in out.columns if c != column]]

    @_needs_leads
    def by_source(self) -> pd.DataFrame:
        return self.by("source")

    @_needs_leads
    def by_month(self) -> pd.DataFrame | None:
        """Stage tables by the month leads came in (None without created dates)."""
        if not self.leads.dated:
            return None
        df = self.leads.frame
        return FunnelStudy(Leads(df.assign(month=df["created_date"].dt.to_period("M").astype(str)), self.leads.cutoff),
                           self.currency).by("month")

    @_needs_leads
    def month_table(self) -> pd.DataFrame | None:
        """One row per month the leads came in: leads, the rate into each stage (decided leads only),
        and, with deal values, the value that came in and the value won of that month's leads."""
        m = self.by_month()
        if m is None:
            return None
        rates = m.pivot(index="month", columns="stage", values="rate")[list(self.stages[1:])]
        rates.columns = [_("into {stage}").format(stage=stage_word(c)) for c in rates.columns]  # shown headers
        leads = m[m["stage"] == self.stages[1]].set_index("month")["reached_before"].rename("leads")
        out = pd.concat([leads, rates], axis=1)
        df = self.leads.frame
        if "value" in df.columns and df["value"].notna().any():
            month = df["created_date"].dt.to_period("M").astype(str)
            value = df["value"].astype(float)
            out["value_in"] = value.groupby(month).sum()
            out["value_won"] = value.where(df["status"] == "won", 0.0).groupby(month).sum()
        return out

    @_needs_leads
    def won_by_source(self) -> pd.DataFrame:
        """Leads, closed, won and the won rate per source, best first."""
        df = self.leads.frame
        rows = [{"source": s, **won_rate(g)} for s, g in df.groupby("source", sort=True, observed=True)]
        return pd.DataFrame(rows).sort_values(["won_rate", "closed"], ascending=[False, False]).reset_index(drop=True)

    # -- timing ----------------------------------------------------------------------------

    @_needs_leads
    def durations(self) -> pd.DataFrame | None:
        """Days from each stage to the next, where a lead has both dates: n, median, mean, 90th percentile.

        Only moves already made are measured; a lead still waiting is not (its wait is not over), so
        the figures describe the leads that moved on. A date before the stage before it is an
        inconsistency of the export: counted in ``out_of_order`` and left out."""
        df = self.leads.frame
        if not self.leads.dated:
            return None
        rows = []
        for before, stage in zip(self.stages[:-1], self.stages[1:]):
            j = LEAD_STAGES.index(stage)
            a, b = STAGE_DATES[before], STAGE_DATES[stage]
            if a not in df.columns or b not in df.columns:
                continue
            both = df[a].notna() & df[b].notna() & (df["reached"] >= j)
            if stage == "won":
                both &= df["status"] == "won"
            days = (df.loc[both, b] - df.loc[both, a]).dt.days
            good = days[days >= 0]
            if not len(good):
                continue
            rows.append({"stage": stage, "from": before, "n": len(good), "median_days": float(good.median()),
                         "mean_days": float(good.mean()), "p90_days": float(good.quantile(0.9)),
                         "out_of_order": int((days < 0).sum())})
        if not rows:
            return None
        out = pd.DataFrame(rows)
        if "outcome_date" in df.columns and len(self.stages) > 2:  # with no stage between, the row above is the cycle
            won = df[(df["status"] == "won") & df["outcome_date"].notna() & df["created_date"].notna()]
            cycle = (won["outcome_date"] - won["created_date"]).dt.days
            cycle = cycle[cycle >= 0]
            if len(cycle):
                out = pd.concat([out, pd.DataFrame([{"stage": "won", "from": "created", "n": len(cycle),
                                                     "median_days": float(cycle.median()), "mean_days": float(cycle.mean()),
                                                     "p90_days": float(cycle.quantile(0.9)), "out_of_order": 0}])],
                                ignore_index=True)
        return out

    def _last_step(self) -> pd.Series:
        """Date of each lead's latest known step (its stage date, or created)."""
        df = self.leads.frame
        cols = [STAGE_DATES[s] for s in LEAD_STAGES[:-1] if STAGE_DATES[s] in df.columns]
        return df[cols].max(axis=1)

    @_needs_leads
    def stall_thresholds(self) -> pd.DataFrame | None:
        """Per stage, the days after which an open lead there counts as stalled: the STALL_QUANTILE of
        the waits of leads that left the stage (to the next stage date, or to their lost date)."""
        df = self.leads.frame
        if not self.leads.dated or self.leads.cutoff is None:
            return None
        rows = []
        for stage, following in zip(self.stages[:-1], self.stages[1:]):
            j = LEAD_STAGES.index(stage)
            col = STAGE_DATES[stage]
            if col not in df.columns or df[col].isna().all():
                continue
            at = df[col]
            nxt = STAGE_DATES[following]
            moved = (df["reached"] > j) & at.notna()
            left_on = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
            if nxt in df.columns:
                left_on = left_on.mask(moved, df[nxt])
            if "outcome_date" in df.columns:
                lost = (df["reached"] == j) & (df["status"] == "lost")
                left_on = left_on.mask(lost, df["outcome_date"])
            waits = (left_on - at).dt.days.dropna()
            waits = waits[waits >= 0]
            if len(waits) >= MIN_LEFT_FOR_STALL:
                rows.append({"stage": stage, "left_stage": len(waits),
                             "stalled_after_days": float(np.ceil(waits.quantile(STALL_QUANTILE)))})
        return pd.DataFrame(rows) if rows else None

    def _stalled(self) -> pd.Series:
        """Per lead: open and waiting at its stage longer than the stage's stall threshold."""
        df = self.leads.frame
        thresholds = self.stall_thresholds()
        if thresholds is None:
            return pd.Series(False, index=df.index)
        stage = pd.Series([LEAD_STAGES[r] for r in df["reached"]], index=df.index)
        waited = (self.leads.cutoff - self._last_step()).dt.days
        limit = stage.map(thresholds.set_index("stage")["stalled_after_days"])
        return ((df["status"] == "open") & (waited > limit)).fillna(False).astype(bool)

    @_needs_leads
    def pipeline(self) -> pd.DataFrame:
        """Open leads at the cutoff by their stage: count, value, and value weighted by the chance to
        win from that stage (the product of the stage rates ahead), and how many have stalled."""
        df = self.leads.frame
        open_ = df[df["status"] == "open"].copy()
        if open_.empty:
            return None
        rates = self.overall().set_index("stage")["rate"].fillna(0.0)
        ahead = {st: float(np.prod([rates[s] for s in self.stages[j + 1:]])) for j, st in enumerate(self.stages[:-1])}
        open_["stage"] = [LEAD_STAGES[r] for r in open_["reached"]]
        # A stalled lead counts as lost in the rates, so it adds nothing to the weighted pipeline.
        open_["p_win"] = open_["stage"].map(ahead).where(~open_["stalled"], 0.0)
        has_value = "value" in open_.columns
        open_["value_"] = open_["value"].astype(float) if has_value else np.nan
        open_["weighted_"] = open_["value_"] * open_["p_win"]
        out = (open_.groupby("stage", observed=True)
               .agg(open_leads=("lead_id", "size"), value=("value_", "sum"),
                    stalled=("stalled", "sum"), weighted_value=("weighted_", "sum"))
               .reindex([s for s in LEAD_STAGES[:-1]]).dropna(how="all").reset_index())
        out.insert(3, "p_win", out["stage"].map(ahead))
        if not has_value:
            out[["value", "weighted_value"]] = np.nan
        out["open_leads"] = out["open_leads"].astype(int)
        out["stalled"] = out["stalled"].astype(int)
        return out

    @_needs_leads
    def stalled_leads(self, top: int | None = None) -> pd.DataFrame | None:
        """The stalled open leads themselves (lead id, source, stage, days waited, value), longest
        waiting first (the ``top`` ones when given): whom to chase."""
        if self.stall_thresholds() is None:
            return None
        df = self.leads.frame
        hit = df[df["stalled"]]
        out = pd.DataFrame({"lead_id": hit["lead_id"], "source": hit["source"],
                            "stage": [LEAD_STAGES[r] for r in hit["reached"]],
                            "days_waiting": (self.leads.cutoff - self._last_step().reindex(hit.index)).dt.days,
                            "value": hit["value"] if "value" in hit.columns else np.nan})
        out = out.sort_values(["days_waiting", "lead_id"], ascending=[False, True]).reset_index(drop=True)
        return out.head(top) if top else out

    # -- cohorts ---------------------------------------------------------------------------

    @_needs_leads
    def cohorts(self, last: int | None = None) -> pd.DataFrame | None:
        """Of the leads created in each month, the share won within each horizon of COHORT_HORIZONS
        days (NaN where the month is too recent for the horizon to have passed at the cutoff); the
        ``last`` months only when given."""
        df = self.leads.frame
        if not self.leads.dated or "outcome_date" not in df.columns or self.leads.cutoff is None:
            return None
        month = df["created_date"].dt.to_period("M")
        days_to_win = (df["outcome_date"] - df["created_date"]).dt.days.where(df["status"] == "won")
        rows = []
        for m, idx in df.groupby(month, observed=True).groups.items():
            row = {"month": str(m), "leads": len(idx)}
            last_created = df.loc[idx, "created_date"].max()
            for h in COHORT_HORIZONS:
                observable = last_created + pd.Timedelta(days=h) <= self.leads.cutoff
                row[f"won_{h}d"] = float((days_to_win.loc[idx] <= h).mean()) if observable else np.nan
            row["won_so_far"] = float((df.loc[idx, "status"] == "won").mean())
            rows.append(row)
        out = pd.DataFrame(rows)
        return out.tail(last).reset_index(drop=True) if last else out

    # -- worth -----------------------------------------------------------------------------

    @_needs_leads
    def source_value(self, orders: pd.DataFrame | None) -> pd.DataFrame | None:
        """Per source: won leads, those linked to a customer, and those customers' revenue within
        VALUE_DAYS of the win (wins at least VALUE_DAYS before the cutoff), per customer and per lead."""
        df = self.leads.frame
        if orders is None or "customer_id" not in df.columns or not self.leads.dated or "outcome_date" not in df.columns:
            return None
        won = df[(df["status"] == "won") & df["customer_id"].notna() & df["outcome_date"].notna()]
        won = won[won["outcome_date"] + pd.Timedelta(days=VALUE_DAYS) <= self.leads.cutoff]
        if won.empty:
            return None
        lines = orders[orders["customer_id"].isin(set(won["customer_id"]))][["customer_id", "order_date", "line_revenue"]]
        joined = lines.merge(won[["customer_id", "outcome_date", "source"]], on="customer_id")
        inside = (joined["order_date"] >= joined["outcome_date"].dt.normalize()) & \
                 (joined["order_date"] < joined["outcome_date"] + pd.Timedelta(days=VALUE_DAYS))
        revenue = joined[inside].groupby("customer_id")["line_revenue"].sum()
        won = won.assign(revenue=won["customer_id"].map(revenue).fillna(0.0))
        leads_per_source = df.groupby("source", observed=True).size()
        out = (won.groupby("source", observed=True)
               .agg(customers=("customer_id", "nunique"), revenue=("revenue", "sum"),
                    buying=("revenue", lambda r: int((r > 0).sum())))
               .reset_index())
        out["revenue_per_customer"] = out["revenue"] / out["customers"]
        out["leads"] = out["source"].map(leads_per_source).astype(int)
        out["revenue_per_lead"] = out["revenue"] / out["leads"]
        return out.sort_values("revenue_per_customer", ascending=False).reset_index(drop=True)

    # -- hand-over -------------------------------------------------------------------------

    @_needs_leads
    def frame(self, orders: pd.DataFrame | None = None) -> pd.DataFrame:
        """Every figure of the funnel as one long table for ``funnel.parquet``: section, group_by,
        group, stage, measure, value, n, ci_low, ci_high."""
        parts = []

        def conv(table: pd.DataFrame, group_by: str, key: str | None) -> None:
            for _i, r in table.iterrows():
                parts.append({"section": "conversion", "group_by": group_by, "group": str(r[key]) if key else "all",
                              "stage": r["stage"], "measure": "rate", "value": r["rate"], "n": r["decided"],
                              "ci_low": r["ci_low"], "ci_high": r["ci_high"]})

        conv(self.overall(), "all", None)
        conv(self.by_source(), "source", "source")
        if (m := self.by_month()) is not None:
            conv(m, "month", "month")
        for _i, r in self.won_by_source().iterrows():
            parts.append({"section": "won", "group_by": "source", "group": r["source"], "stage": "won",
                          "measure": "won_rate", "value": r["won_rate"], "n": r["closed"],
                          "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
        if (d := self.durations()) is not None:
            for _i, r in d.iterrows():
                for measure in ("median_days", "mean_days", "p90_days"):
                    parts.append({"section": "duration", "group_by": "all", "group": f"from {r['from']}",
                                  "stage": r["stage"], "measure": measure, "value": r[measure], "n": r["n"]})
        for _i, r in (self.pipeline() if self.pipeline() is not None else pd.DataFrame()).iterrows():
            for measure in ("open_leads", "value", "weighted_value", "stalled"):
                parts.append({"section": "pipeline", "group_by": "stage", "group": r["stage"], "stage": r["stage"],
                              "measure": measure, "value": r[measure], "n": r["open_leads"]})
        if (c := self.cohorts()) is not None:
            for _i, r in c.iterrows():
                for h in COHORT_HORIZONS:
                    parts.append({"section": "cohort", "group_by": "month", "group": r["month"], "stage": "won",
                                  "measure": f"won_{h}d", "value": r[f"won_{h}d"], "n": r["leads"]})
        if (v := self.source_value(orders)) is not None:
            for _i, r in v.iterrows():
                for measure in ("revenue_per_customer", "revenue_per_lead"):
                    parts.append({"section": "value", "group_by": "source", "group": r["source"], "stage": "won",
                                  "measure": measure, "value": r[measure], "n": r["customers"]})
        out = pd.DataFrame(parts, columns=["section", "group_by", "group", "stage", "measure", "value", "n",
                                           "ci_low", "ci_high"])
        out["value"] = out["value"].astype(float)
        out["n"] = out["n"].astype("int64")
        return out

    def figures(self, scoring: dict | None = None, orders: pd.DataFrame | None = None) -> dict:
        """The headline figures for metrics.json (those the data allow)."""
        if not self.available:
            return {"leads": 0, "skipped": self.skip_note()}
        overall = won_rate(self.leads.frame)
        stages = self.overall()
        by_source = self.won_by_source()
        ranked = by_source[by_source["closed"] >= MIN_DECIDED]
        out: dict = {"leads": overall["leads"], "closed": overall["closed"], "won": overall["won"],
                     "won_rate": _f(overall["won_rate"]), "won_rate_ci": [_f(overall["ci_low"]), _f(overall["ci_high"])],
                     "stage_rates": {r.stage: _f(r.rate) for r in stages.itertuples()},
                     "won_rate_by_source": {r.source: _f(r.won_rate) for r in by_source.itertuples()},
                     "cannot_show": list(self.leads.cannot)}
        if len(ranked) >= 2:
            out["best_source"], out["worst_source"] = ranked.iloc[0]["source"], ranked.iloc[-1]["source"]
        pipe = self.pipeline()
        out["open_leads"] = int(pipe["open_leads"].sum()) if pipe is not None else 0
        out["stalled_leads"] = int(pipe["stalled"].sum()) if pipe is not None else 0
        if pipe is not None and pipe["value"].notna().any():
            out["pipeline_value"] = _f(pipe["value"].sum())
            out["weighted_pipeline_value"] = _f(pipe["weighted_value"].sum())
        if (d := self.durations()) is not None:
            cycle = d[(d["stage"] == "won") & (d["from"] == "created")]
            if len(cycle):
                out["median_days_to_win"] = _f(cycle["median_days"].iloc[0])
        if (v := self.source_value(orders)) is not None:
            out["revenue_per_won_customer_by_source"] = {r.source: _f(r.revenue_per_customer) for r in v.itertuples()}
            out["value_days"] = VALUE_DAYS
        if scoring:
            out["scoring"] = scoring
        return out

    def sentence(self, scoring: dict | None = None) -> str:
        """One sentence for the report: how many leads, the won rate, the best source, the pipeline."""
        if not self.available:
            return self.skip_note()
        f = self.figures(scoring)
        if not f["closed"]:
            return _("None of the {leads} leads is closed yet (won, lost or stalled): no conversion to report.").format(
                leads=number(f["leads"]))
        text = _("Of {closed} closed leads, {won} were won ({rate}, 95% interval {low}–{high})").format(
            closed=number(f["closed"]), won=number(f["won"]), rate=percent(f["won_rate"]),
            low=percent(f["won_rate_ci"][0]), high=percent(f["won_rate_ci"][1]))
        if "best_source" in f:  # sources are named as the data write them
            by = f["won_rate_by_source"]
            text += _("; {best} converts best ({best_rate}) and {worst} worst ({worst_rate})").format(
                best=f["best_source"], best_rate=percent(by[f["best_source"]]), worst=f["worst_source"],
                worst_rate=percent(by[f["worst_source"]]))
        text += _(". {open} leads are open").format(open=number(f["open_leads"]))
        if "stalled_leads" in f and self.stall_thresholds() is not None:
            text += _(", {stalled} of them stalled").format(stalled=number(f["stalled_leads"]))
        if "weighted_pipeline_value" in f:
            text += _(", worth {amount} weighted by their chance to win").format(
                amount=money(f["weighted_pipeline_value"], self.currency))
        text += _(".")
        if scoring and scoring.get("verdict"):  # a sentence of its own, in the run's language
            text = _("{head} {judge}").format(head=text, judge=scoring["verdict"])
        return text


def _f(x: object) -> float | None:
    """A float for metrics.json (None for NaN)."""
    x = float(x)
    return None if np.isnan(x) else round(x, 6)
