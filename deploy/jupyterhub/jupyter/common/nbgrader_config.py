"""nbgrader settings shared by every account on the CS Dojo hub (trainers and learners).

The hub passes the values through the single-user server's environment (see ../jupyterhub_config.py),
so a test hub and a study-session hub use this same file.
"""
import os

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# The exchange: the only folder shared by trainer and learners (mode 1777, created by the operator).
c.Exchange.root = os.environ.get("CS_DOJO_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
# One course per hub; learners fetch/submit with this id, the trainer releases/collects with it.
c.CourseDirectory.course_id = os.environ.get("CS_DOJO_COURSE_ID", "cs-dojo")
