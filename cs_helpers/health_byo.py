"""Former home of the bring-your-own-data helpers, now ``cs_helpers.health.byo`` (kept for old imports)."""
from .health.byo import (  # noqa: F401
    _KEYS,
    _CHURN_YES,
    _CHURN_NO,
    ByoMapping,
    _as_list,
    read_mapping,
    parse_churn,
    ByoData,
    load_byo,
    _check_constant_per_account,
    byo_features,
    signal_report,
    churn_by_category,
    evaluate,
)
