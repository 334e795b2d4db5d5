"""Everything after the samples: detection, the live service, the store, offline analysis.

Owns the output vocabulary (:mod:`processing.events`) and the console script
(:mod:`processing.cli`). Subpackages, each with its own import rules (checked by
``tests/test_architecture.py``): ``detect`` (pure measurement), ``wire`` (MQTT topics,
payloads and their schemas), ``live`` (the live service and its I/O), ``store`` (the SQLite
session store), ``offline`` (recordings analyzed and scored) and ``commands`` (one module per
subcommand). May import ``sensor``; never ``dashboard``, except ``commands`` which starts it.
"""
