"""Errors of the session store."""


class StoreError(Exception):
    """The store cannot be used: written by a newer Backspotter, or its server unreachable."""
