"""Detection: samples in, events out (orientation, angles, posture, reps, sets, alerts).

Pure computation: no I/O, threads, clocks, MQTT or SQLite, so the same code serves
``analyze``, ``replay`` and ``run`` alike; :mod:`processing.detect.pipeline` is the entry point.
May import only ``processing.detect.*``, :mod:`processing.events`, :mod:`sensor.samples`, the
standard library, numpy, scipy and imufusion.
"""
