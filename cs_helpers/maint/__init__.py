"""Maintainer tools: the data generator, the notebook cleaner and the environment set-up. Learners never import these."""
