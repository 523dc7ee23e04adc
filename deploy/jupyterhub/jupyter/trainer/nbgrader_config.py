"""nbgrader settings for trainer accounts: where the course (source, release, gradebook) lives.

The course folder sits in the trainer's own home (mode 0700), so learners can read neither the
gradebook nor collected submissions. ``cs-dojo init`` may put another nbgrader_config.py inside
the course folder; nbgrader reads that one too when commands run there.
"""
import os

c = get_config()  # noqa: F821

c.CourseDirectory.root = os.path.expanduser(os.environ.get("CS_DOJO_COURSE_ROOT", "~/course"))
# On the hub the grading sandbox is mandatory: `cs-dojo grade` refuses to run learner code without bubblewrap
# (the hub image installs it; see docs/trainer.md, "採点のサンドボックス / The grading sandbox").
c.CsDojoGrade.sandbox = "required"
