"""The SQLite session store: schema and migrations, the service's writer, the typed reader.

:mod:`processing.store.schema` owns the tables, :mod:`processing.store.writer` fills them
from a live session and :mod:`processing.store.reader` answers the dashboard. May import
:mod:`processing.events`, ``processing.wire`` and ``processing.store.*``; never
``processing.detect`` or ``processing.live``.
"""
