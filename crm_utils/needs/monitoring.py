"""How last month's purchase predictions turned out, once the 30 days they were about have passed.

Last month's report scored every active customer at the end of last month. When this month's
data cover the whole label window after that cutoff, the realised purchases say how good the
scores were: the ROC-AUC they achieve, and the **top-decile hit rate** (the share of the 10%
highest-scored customers who did buy, which is what a campaign aimed at them would have reached).

The predictions come from last month's report (its ``propensity`` artifact, read through
:class:`crm_utils.artifacts.LastMonth`) when it exists: that is what the business was told.
Otherwise they are recomputed at last month's cutoff from data known then, and the report says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from crm_utils.config import month_end, parse_month
from crm_utils.needs.propensity import buyers_between, gains_table


def previous_cutoff(report_month: str) -> pd.Timestamp:
    return month_end(parse_month(report_month) - 1)


def window_covered(report_month: str, horizon_days: int = 30) -> bool:
    """Whether the label window after last month's cutoff ends by this report month's end."""
    return previous_cutoff(report_month) + pd.Timedelta(days=horizon_days) <= month_end(report_month)


def realised(predictions: pd.DataFrame, orders: pd.DataFrame, cutoff: pd.Timestamp,
             horizon_days: int = 30) -> tuple[dict, pd.DataFrame]:
    """Realised ROC-AUC, top-decile hit rate and lift of ``predictions`` made at ``cutoff``, and the gains table."""
    bought = buyers_between(orders, cutoff, cutoff + pd.Timedelta(days=horizon_days))
    y = predictions["customer_id"].astype(str).isin(bought.astype(str)).to_numpy()
    p = predictions["p_purchase"].to_numpy(float)
    gains = gains_table(y, p)
    both = 0 < y.sum() < len(y)
    figures = {
        "customers": int(len(y)), "buyers": int(y.sum()), "base_rate": float(y.mean()) if len(y) else float("nan"),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "top_decile_hit_rate": float(gains["hit_rate"].iloc[0]) if len(gains) else float("nan"),
        "top_decile_lift": float(gains["lift"].iloc[0]) if len(gains) else float("nan"),
        "mean_predicted": float(np.mean(p)) if len(p) else float("nan"),
    }
    return figures, gains
