"""The rhythm engine: pure numerics on arrays (numpy and scipy only; imports nothing else of
keepwarm).

Typical use by the service layer::

    summary = summarise(client, day, amount_cents, n_clients, as_of_day)
    population = fit_population(summary)      # JSON-able via population.to_dict()
    scores = score(summary, population)       # frozen dataclass of per-client arrays

Models (each a module with ``fit``, ``log_likelihood``, ``p_alive``, expectations, and a
frozen parameter dataclass with ``to_dict``/``from_dict``): :mod:`.bgnbd` (Fader, Hardie &
Lee 2005), :mod:`.paretonbd` (Schmittlein, Morrison & Colombo 1987), :mod:`.gammagamma`
(Colombo & Jiang 1999; Fader, Hardie & Lee 2005b).
"""

from keepwarm.rhythm import bgnbd, gammagamma, paretonbd
from keepwarm.rhythm._optim import FitDiagnostics
from keepwarm.rhythm.attention import Silence, silence
from keepwarm.rhythm.bgnbd import BGNBDParams
from keepwarm.rhythm.clv import customer_lifetime_value, discounted_expected_transactions
from keepwarm.rhythm.compress import Compressed, compress, compress_summary
from keepwarm.rhythm.fitstats import (
    FitCounts,
    FitStats,
    add_counts,
    fit_counts,
    fit_stats,
    from_counts,
)
from keepwarm.rhythm.gammagamma import GammaGammaParams
from keepwarm.rhythm.lapse import LapseCalibration
from keepwarm.rhythm.lapse import calibrate as calibrate_lapse
from keepwarm.rhythm.lapse import calibrate_examples as calibrate_lapse_examples
from keepwarm.rhythm.lapse import examples as lapse_examples
from keepwarm.rhythm.lapse import features as lapse_features
from keepwarm.rhythm.lapse import merge_examples as merge_lapse_examples
from keepwarm.rhythm.paretonbd import ParetoNBDParams
from keepwarm.rhythm.population import (
    MODELS,
    PopulationFit,
    fit_population,
    fit_population_from,
    model_from_dict,
)
from keepwarm.rhythm.score import LAPSE_DAYS, Scores, score
from keepwarm.rhythm.simulate import (
    SimulatedActivities,
    simulate_activities,
    simulate_bgnbd,
    simulate_paretonbd,
)
from keepwarm.rhythm.summary import ClientSummary, summarise
from keepwarm.rhythm.trend import Trend, trend

__all__ = [
    "LAPSE_DAYS",
    "MODELS",
    "BGNBDParams",
    "ClientSummary",
    "Compressed",
    "FitCounts",
    "FitDiagnostics",
    "FitStats",
    "GammaGammaParams",
    "LapseCalibration",
    "ParetoNBDParams",
    "PopulationFit",
    "Scores",
    "Silence",
    "SimulatedActivities",
    "Trend",
    "add_counts",
    "bgnbd",
    "calibrate_lapse",
    "calibrate_lapse_examples",
    "compress",
    "compress_summary",
    "customer_lifetime_value",
    "discounted_expected_transactions",
    "fit_counts",
    "fit_population",
    "fit_population_from",
    "fit_stats",
    "from_counts",
    "gammagamma",
    "lapse_examples",
    "lapse_features",
    "merge_lapse_examples",
    "model_from_dict",
    "paretonbd",
    "score",
    "silence",
    "simulate_activities",
    "simulate_bgnbd",
    "simulate_paretonbd",
    "summarise",
    "trend",
]
