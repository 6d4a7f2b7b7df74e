"""The BG/NBD buy-till-you-die model (Fader, Hardie & Lee, 2005), fitted with PyMC-Marketing.

BG/NBD describes each customer by two hidden rates: while "alive" they buy as a Poisson process
with rate lambda (gamma-distributed across customers, parameters r and alpha), and after every
purchase they may drop out for good with probability p (beta-distributed, parameters a and b).
From three numbers per customer (repeat purchases, the age of the last purchase, the age of the
customer) it gives the expected purchases in any future period and the probability of being
alive. It is the standard baseline for "who will buy again", and its outputs make good features.

The library is PyMC-Marketing (maintained; ``lifetimes`` is not). The model is fitted by maximum
a posteriori (``fit(method="map")``): deterministic, seconds instead of minutes of sampling, and
enough for point predictions. The first fit on a machine compiles the model (~20 s); later fits
reuse PyTensor's cache in ``~/.pytensor``.

Inputs come from :func:`crm_utils.customers.features.customer_features` **before** ``with_signup``: there
``tenure_days`` is the age of the first purchase, which is what BG/NBD calls T. Time is in days.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator


@contextlib.contextmanager
def _quiet():
    """PyTensor warns once that it found no BLAS (harmless for a 4-parameter model), tqdm that
    Jupyter widgets are missing, and PyMC logs its optimiser's progress: none belongs in a report."""
    loggers = [logging.getLogger(n) for n in ("pymc", "pytensor", "pymc_marketing")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*could not link to a BLAS.*")
            warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by PyMC
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def bgnbd_inputs(features: pd.DataFrame) -> pd.DataFrame:
    """BG/NBD's summary per customer: repeat purchases, recency (first to last purchase) and T.

    ``features`` are those of ``customer_features`` before ``with_signup`` (see module docstring).
    """
    T = features["tenure_days"].to_numpy(float)
    recency = np.clip(T - features["recency_days"].to_numpy(float), 0.0, None)
    return pd.DataFrame({"customer_id": np.arange(len(features)),
                         "frequency": features["frequency"].to_numpy(float) - 1.0,
                         "recency": recency, "T": T})


class BGNBD(BaseEstimator):
    """BG/NBD fitted by MAP; predicts expected purchases, P(alive) and P(at least one purchase).

    Parameters
    ----------
    horizon_days : the future period of :meth:`expected_purchases` and :meth:`purchase_probability`.
    """

    def __init__(self, horizon_days: int = 30):
        self.horizon_days = horizon_days

    def fit(self, features: pd.DataFrame) -> "BGNBD":
        with _quiet():
            from pymc_marketing.clv import BetaGeoModel

            data = bgnbd_inputs(features)
            if len(data) < 2:
                raise ValueError(f"BG/NBD needs at least two customers, got {len(data)}")
            model = BetaGeoModel()
            model.fit(data=data, method="map", progressbar=False)
        self.model_ = model
        self.idata_ = model.idata
        summary = model.fit_summary()
        self.params_ = {k: float(summary[k]) for k in ("r", "alpha", "a", "b")}
        self.n_customers_ = len(data)
        return self

    # The fitted PyMC model holds compiled functions that do not pickle; the inference data do,
    # and rebuild it in milliseconds (so a trained scorer can be saved and loaded).
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("model_", None)
        return state

    def _model(self):
        if getattr(self, "model_", None) is None:
            with _quiet():
                from pymc_marketing.clv import BetaGeoModel

                self.model_ = BetaGeoModel.build_from_idata(self.idata_)
        return self.model_

    def _predict(self, method: str, features: pd.DataFrame, **kwargs) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        with _quiet():
            out = getattr(self._model(), method)(data=bgnbd_inputs(features), **kwargs)
        return np.asarray(out, dtype=float).reshape(-1)

    def expected_purchases(self, features: pd.DataFrame) -> np.ndarray:
        """Expected purchases in the next ``horizon_days`` days."""
        return self._predict("expected_purchases", features, future_t=self.horizon_days)

    def expected_purchases_in(self, features: pd.DataFrame, days: float) -> np.ndarray:
        """Expected purchases per customer in the next ``days`` (another horizon than the fitted
        one: customer value's month and year)."""
        return self._predict("expected_purchases", features, future_t=days)

    def probability_alive(self, features: pd.DataFrame) -> np.ndarray:
        """Probability that the customer has not dropped out."""
        return self._predict("expected_probability_alive", features)

    def purchase_probability(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of at least one purchase in the next ``horizon_days`` days."""
        return 1.0 - self._predict("expected_probability_no_purchase", features, t=self.horizon_days)
