"""Customer health score: build it, validate it against churn without leakage, and act on it.

The pipeline, one row per account that is live at a cutoff date (all steps vectorised pandas/numpy)::

    feats = features_at(tables, "2026-03-31")     # level and trend of each component, data <= cutoff only
    scored = score(feats)                          # z-normalised components -> weighted score 0-100 -> band
    bt = backtest(tables, "2026-03-31")            # the same, joined with churn in (cutoff, cutoff + 90 days]
    bt.auc, bt.naive_auc, bt.bands                 # rank AUC, naive comparison, churn rate and lift per band
    call_list(bt.frame, capacity=20)               # who to call this week, with a playbook
    backtest_pooled(tables, quarter_ends(...))      # many cutoffs pooled; rescore(...) tries other weights
    lead_times(snapshots(tables, start, end), accounts)   # days between turning red and churning
    learn_scorecard(frame, signals=..., categories=...)   # a points table learned from churn history (learn.py)
    cross_validate(...), validate_over_time(...)          # judged on rows no fit has seen

What is "known at the cutoff" (the leakage rules, tested in ``tests/test_health_leakage.py``):

* a usage row for month ``m`` is used only if the month has ended by the cutoff (``m``'s last day <= cutoff);
* tickets, NPS answers and meetings are used only if dated on or before the cutoff;
* from ``accounts`` only static facts are used (seats, ARR, CSM, contract start); ``churned``,
  ``churn_date`` and ``renewal_date`` are never features. An account is live at the cutoff when its contract
  started on or before the cutoff and it has not churned by then.
* normalisation (means and standard deviations) is fitted on the accounts at the same cutoff, or on a
  reference ``Scale`` fitted earlier, never on later data.

Score scale: the weighted sum of oriented z-scores is re-standardised like a 偏差値 (mean 50, sd 10 among the
accounts at the cutoff) and clipped to 0-100, so 40 means "one standard deviation less healthy than the
average account". Bands: ``赤`` below 40, ``黄`` below 50, ``緑`` otherwise (English names accepted).
"""

# The public API stays flat (``health.backtest``, ``health.auc`` ...): notebooks and released hidden tests use it.
from .score import (  # noqa: F401
    Component,
    COMPONENTS,
    ASPECTS,
    ASPECT_JA,
    FEATURES,
    DEFAULT_WEIGHTS,
    DEFAULT_THRESHOLDS,
    BANDS,
    BANDS_EN,
    _BAND_ALIASES,
    USAGE_MONTHS,
    TICKET_DAYS,
    NPS_DAYS,
    TOUCH_DAYS,
    feature_label,
    band_key,
    canonical_bands,
    _thresholds,
    bands,
    _weights,
    Scale,
    _oriented,
    _moments,
    normalise,
    _composite,
    fit_scale,
    contributions,
    _component_z,
    component_scores,
    score,
    weighted_score,
    COLUMN_JA,
    to_japanese,
)
from .features import (  # noqa: F401
    _ts,
    first_incomplete_month,
    live_accounts,
    AccountIndex,
    _account_index,
    prepare,
    _Window,
    _sum_count,
    _mean,
    monthly_level_trend,
    data_end,
    features_at,
)
from .metrics import (  # noqa: F401
    _risk,
    _labels,
    auc,
    roc_curve,
    churn_by_band,
    precision_recall,
    red_precision_recall,
    churn_within,
)
from .backtest import (  # noqa: F401
    Backtest,
    _check_horizon,
    _labelled,
    _result,
    backtest,
    backtest_pooled,
    rescore,
    quarter_ends,
    snapshots,
    lead_times,
    EXERCISE_CUTOFFS,
    exercise_variant,
)
from .actions import (  # noqa: F401
    PLAYBOOKS,
    attention_table,
    _risk_order,
    call_list,
    capacity_threshold,
    capacity_table,
    playbook_triggers,
)
from .learn import (  # noqa: F401
    Scorecard,
    Validation,
    capacity_metrics,
    cross_validate,
    fit_logistic,
    learn_scorecard,
    plain_logistic_cv,
    reliability,
    validate_over_time,
)
