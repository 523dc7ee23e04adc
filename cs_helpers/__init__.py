"""CS Dojo helpers: data, analysis, roleplay, widgets and the trainer CLI.

Notebooks teach by calling these functions; anything two notebooks need lives here. Which helper serves which lesson:

===========  =====================================================================================
module 00    ``learner`` (learner id), ``doctor`` (environment check)
module 01    ``assess`` (self-assessment, radar chart), ``kpi`` (KPI cascade), ``revenue`` (churn, GRR)
module 02    ``understanding`` (hearing notes, stakeholder map)
module 03    ``calibration`` (touch models, scope, success plan), ``roleplay`` (widget roleplays)
module 04    ``health`` (health score, backtest, learned points table, ``cs-dojo health check``)
module 05    ``team``, ``growth``, ``fit`` (growth plans, 1on1, staffing)
module 06    ``lifecycle``, ``revenue`` (renewals, GRR/NRR, book of business)
all modules  ``checks`` (practice feedback), ``data`` (shipped data), ``plotting`` (Japanese plots)
trainers     ``course`` (the ``cs-dojo`` pipeline), ``session`` (study-session kit), ``htmlpage``
maintainers  ``maint`` (data generator, notebook cleaner, environment set-up)
===========  =====================================================================================
"""


def __getattr__(name: str):
    if name == "__version__":  # one version source: the package metadata (pyproject.toml)
        from .cli import package_version
        return package_version()
    raise AttributeError(f"module 'cs_helpers' has no attribute {name!r}")
