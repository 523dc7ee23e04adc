"""CS Dojo helpers: data, analysis, roleplay, widgets and the trainer CLI.

Notebooks teach by calling these functions; anything two notebooks need lives here.
"""
__version__ = "0.1.0"
