"""Recordings analyzed after the fact: a file through the pipeline, scored and printed.

:mod:`processing.offline.analysis` runs a recording through the pipeline,
:mod:`processing.offline.evaluation` scores the result against ground truth, and the two
``report`` modules print them. May import ``processing.detect``, :mod:`processing.events`
and ``sensor``; never ``processing.live`` (no broker, no store).
"""
