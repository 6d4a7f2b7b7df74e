"""The leads table as the funnel reads it: what was known at the report month's end, which stage
each lead reached, and what the export can show at all (an undated lead-scoring export has no
months, cohorts or durations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crm_utils.data import io
from crm_utils.data.cleaning import canonical_spelling
from crm_utils.data.reasons import reason_label
from crm_utils.data.schema import LEAD_STAGES, row_failures
from crm_utils.i18n import N_, _
from crm_utils.notebook import number

#: The stage-date columns, in funnel order (``created`` and ``won`` are dated by created_date and outcome_date).
STAGE_DATES = {"created": "created_date", "contacted": "contacted_date", "qualified": "qualified_date",
               "proposal": "proposal_date", "won": "outcome_date"}
UNKNOWN_SOURCE = "unknown"
#: The stages (LEAD_STAGES) as sentences and tables name them, translated with ``_()`` where shown.
STAGE_WORDS = {"created": N_("created"), "contacted": N_("contacted"), "qualified": N_("qualified"),
               "proposal": N_("proposal"), "won": N_("won")}


def stage_word(stage: str) -> str:
    """A stage's name in the current language (an unknown one as it is)."""
    return _(STAGE_WORDS[stage]) if stage in STAGE_WORDS else stage


@dataclass
class Leads:
    """Leads as of a cutoff: one row per lead with ``reached`` (index into LEAD_STAGES), ``status``
    (open, won, lost), and the stage dates known at the cutoff."""

    frame: pd.DataFrame
    cutoff: pd.Timestamp | None
    #: what the export lacks, and so what the funnel cannot show (said, never invented), in the run's language
    cannot: list[str] = field(default_factory=list)
    #: events dated after the cutoff, not known at it (left out and counted)
    after_cutoff: int = 0

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages this export shows: created, those between that some lead is recorded at, won.
        A stage nobody is recorded at is not in the export's funnel, not a stage everybody skipped."""
        middle = [s for i, s in enumerate(LEAD_STAGES[1:-1], start=1) if (self.frame["reached"] == i).any()
                  or self.stage_dated(s) or ("stage" in self.frame.columns and
                                              self.frame["stage"].astype("string").str.strip().str.lower().eq(s).any())]
        return (LEAD_STAGES[0], *middle, LEAD_STAGES[-1])

    @property
    def dated(self) -> bool:
        """Whether leads have created dates: months, cohorts and a time split need them."""
        return "created_date" in self.frame.columns and self.frame["created_date"].notna().any()

    def stage_dated(self, stage: str) -> bool:
        col = STAGE_DATES[stage]
        return col in self.frame.columns and self.frame[col].notna().any()


def prepare(leads: pd.DataFrame, cutoff: pd.Timestamp | str | None = None) -> Leads:
    """The cleaned leads as known at ``cutoff``: a stage or outcome dated after it has not happened
    yet (its date is blanked and the lead is open), and each lead's furthest stage.

    A later stage implies the earlier ones (a lead with a proposal date was contacted, even when
    the export left that date empty); ``stage`` (a furthest stage written as text) counts too.
    """
    df = leads.copy()
    cutoff = pd.Timestamp(cutoff) if cutoff is not None else None
    after = 0
    for col in STAGE_DATES.values():
        if col in df.columns:
            df[col] = pd.to_datetime(df[col])
            if cutoff is not None:
                late = df[col] > cutoff
                after += int(late.sum())
                df.loc[late, col] = pd.NaT
    outcome = (df["outcome"].astype("string").str.strip().str.lower() if "outcome" in df.columns
               else pd.Series(pd.NA, index=df.index, dtype="string"))
    if "outcome_date" in df.columns and cutoff is not None:  # an outcome dated after the cutoff is not known yet
        outcome = outcome.mask(df["outcome_date"].isna() & leads["outcome_date"].notna().to_numpy())
    df["status"] = outcome.fillna("open").astype(str)
    reached = np.zeros(len(df), dtype=np.int64)
    for i, stage in enumerate(LEAD_STAGES[1:-1], start=1):
        col = STAGE_DATES[stage]
        if col in df.columns:
            reached = np.where(df[col].notna().to_numpy(), np.maximum(reached, i), reached)
    if "stage" in df.columns:
        named = df["stage"].astype("string").str.strip().str.lower().map({s: i for i, s in enumerate(LEAD_STAGES)})
        reached = np.maximum(reached, named.fillna(0).astype(np.int64).to_numpy())
    reached = np.where(df["status"].to_numpy() == "won", len(LEAD_STAGES) - 1, reached)
    df["reached"] = reached
    df["source"] = (df["source"].astype("string") if "source" in df.columns
                    else pd.Series(pd.NA, index=df.index, dtype="string")).fillna(UNKNOWN_SOURCE)
    cannot = []
    result = Leads(df, cutoff, cannot, after)
    if not result.dated:
        cannot.append(_("the leads have no created dates: no funnel by month, no cohort view, no stage durations "
                        "and no time split for lead scoring (a seeded random split instead)"))
    elif not any(result.stage_dated(s) for s in ("contacted", "qualified", "proposal")):
        cannot.append(_("the leads have no stage dates: no stage durations and no stalled leads"))
    if (df["reached"].between(1, len(LEAD_STAGES) - 2)).sum() == 0:
        cannot.append(_("no lead has a stage between created and won: the funnel shows created to won only"))
    if "value" not in df.columns or df["value"].isna().all():
        cannot.append(_("the leads have no deal value: no pipeline value"))
    return result


@dataclass
class ExportLeads:
    """The leads of a leads-only export (``crm-report import`` output), read through the contract:
    the rows failing its row checks are set aside with their reason, never dropped unsaid."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame  # source row, reason
    respelled: int = 0  # source values written in the spelling most leads use

    def note(self) -> str:
        spelled = (_(" {values} source values were respelled as most leads write them.").format(
            values=number(self.respelled)) if self.respelled else "")
        if self.quarantine.empty:
            return _("{leads} leads read; none failed the contract's row checks.").format(
                leads=number(len(self.frame))) + spelled
        # the quarantine table keeps the contract's codes; the sentence names them in words
        counts = self.quarantine["reason"].value_counts()
        reasons = _(", ").join(f"{reason_label(r)}: {number(n)}" for r, n in counts.items())
        return _("{leads} leads read; {set_aside} set aside ({reasons}).").format(
            leads=number(len(self.frame)), set_aside=number(len(self.quarantine)), reasons=reasons) + spelled


def read_export(data_dir: str | Path) -> ExportLeads:
    """The leads table of a folder without orders (a lead-scoring export), typed by the contract.

    The monthly run needs orders (``crm-report run``); a leads-only export is read here with the
    same coercion and row checks notebook 01 applies."""
    mapping_file = Path(data_dir) / "mapping.yml"
    raw = io.load_table(data_dir, "leads", io.Mapping.load(mapping_file) if mapping_file.exists() else None)
    if raw is None:
        raise FileNotFoundError(f"{data_dir}: no leads file (leads.csv or leads.parquet)")
    typed = io.coerce(raw).frame
    fails = row_failures("leads", typed)
    bad = typed.index.isin(fails.index)
    quarantine = pd.DataFrame({"source_row": typed.loc[bad, "_row"].to_numpy(),
                               "reason": fails["reason"].reindex(typed.index[bad]).to_numpy()})
    kept = typed.loc[~bad].rename(columns={"_row": "source_row"}).reset_index(drop=True)
    if "outcome" in kept.columns:
        kept["outcome"] = kept["outcome"].astype("string").str.strip().str.lower()
    respelled = 0
    if "source" in kept.columns:  # 'Google' and 'google' are one source, as notebook 01 makes them
        fixed = canonical_spelling(kept["source"])
        respelled = int((fixed != kept["source"]).fillna(False).sum())
        kept["source"] = fixed
    return ExportLeads(kept, quarantine, respelled)
