"""Moved to :mod:`cs_helpers.maint.nbclean`; this name keeps ``python -m cs_helpers.nbclean`` working."""
import sys

from .maint.nbclean import *  # noqa: F403
from .maint.nbclean import main

if __name__ == "__main__":
    sys.exit(main())
