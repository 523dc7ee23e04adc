"""Helpers for the real-browser tests (tests/test_browser_lab.py): a throwaway JupyterLab server and
Playwright helpers that drive Debian's Chromium against it."""
