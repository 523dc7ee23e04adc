"""Moved to :mod:`cs_helpers.maint.setup_env`; this name keeps ``python -m cs_helpers.setup_env`` working."""
import sys

from .maint.setup_env import *  # noqa: F403
from .maint.setup_env import main

if __name__ == "__main__":
    sys.exit(main())
