"""Command groups of the `mmtrial` CLI, one module each.

`mmtrial.cli` discovers every module here that defines `register(app)`. Modules import heavy
libraries (Django, pandas, matplotlib) inside their commands so that `mmtrial --help` stays fast.
"""
