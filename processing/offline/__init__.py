"""Recordings analyzed after the fact: a file through the pipeline, scored and printed.

:mod:`processing.offline.analysis` runs a recording through the pipeline,
:mod:`processing.offline.evaluation` scores the result against full ground truth,
:mod:`processing.offline.count_evaluation` against the count-only truth of real recordings
(with :mod:`~processing.offline.real_targets` and :mod:`~processing.offline.swing`), and the
``report`` modules print them. May import ``processing.detect``, :mod:`processing.events`
and ``sensor``; never ``processing.live`` (no broker, no store).
"""
