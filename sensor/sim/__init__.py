"""Pieces of the physical session simulator; the public entry point is :mod:`sensor.simulate`."""
