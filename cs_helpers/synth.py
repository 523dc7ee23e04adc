"""Moved to ``cs_helpers.maint.synth`` (the data generator is a maintainer tool); this name stays so that old
imports (``from cs_helpers import synth``) keep working and get the very same module."""
import sys

from .maint import synth as _synth

sys.modules[__name__] = _synth
