"""One module per ``backspotter`` subcommand: argument parsing and wiring, little logic.

The top of the import graph: may import any part of ``processing``, ``sensor`` and
``dashboard`` (the ``dashboard`` and ``demo`` commands start it); nothing imports a command
but :mod:`processing.cli`.
"""
