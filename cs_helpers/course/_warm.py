"""Imported once by the grading forkserver (see grade._PRELOAD): pays nbgrader's one-off start-up costs there, so
that every forked worker starts warm. Nothing here opens a file, a socket or a thread (forking must stay safe)."""
from __future__ import annotations


def warm() -> None:
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


try:
    warm()
except Exception:  # noqa: BLE001 - a failed warm-up only costs speed
    pass
