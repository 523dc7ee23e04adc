"""Imported once by the grading forkserver (see grade._PRELOAD): pays nbgrader's one-off start-up costs there, so
that every forked worker starts warm. Nothing here opens a file, a socket or a thread (forking must stay safe)."""
from __future__ import annotations


def warm() -> None:
    from cs_helpers.course.grading.worker import skip_slow_iri_checker
    skip_slow_iri_checker()  # before nbformat/jsonschema are imported below (saves ~1.5 s of forkserver start-up)
    from nbconvert.exporters import NotebookExporter
    from nbgrader.api import Gradebook  # noqa: F401
    from nbgrader.converters.autograde import Autograde
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.orm import configure_mappers
    from traitlets.config import Config

    configure_mappers()  # SQLAlchemy sets up nbgrader's ORM mappers on first use; do it before forking
    cfg = Config()
    converter = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg)
    exporter = NotebookExporter(parent=converter, config=cfg)
    for pp in converter.sanitize_preprocessors + converter.autograde_preprocessors:
        exporter.register_preprocessor(pp)

    # Measured: without the lines below every forked worker re-did these first-use costs itself (~0.1-0.15 s of CPU
    # per learner): jupyter_client imports ipykernel.kernelspec and IPython to find the native kernel, the
    # course config imports our preprocessors, and nbformat compiles its notebook schema validator on first use.
    import ipykernel.kernelspec  # noqa: F401
    import IPython.paths  # noqa: F401 - jupyter_client's kernel-spec lookup imports it: the whole IPython package
    import nbformat
    import sqlalchemy.dialects.sqlite  # noqa: F401 - the dialect of the worker's gradebook copy, imported on connect

    import cs_helpers.paths  # noqa: F401
    from nbformat.validator import get_validator

    import cs_helpers.course.preprocessors  # noqa: F401
    for relax in (False, True):
        get_validator(nbformat.current_nbformat, nbformat.current_nbformat_minor, relax_add_props=relax)


try:
    warm()
except Exception:  # noqa: BLE001 - a failed warm-up only costs speed
    pass
