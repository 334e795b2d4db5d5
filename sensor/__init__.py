"""Everything up to the samples: devices, recordings, sources by URL, BLE, the simulator.

Owns the sample format (:mod:`sensor.samples`), device profiles (``sensor.profiles``), the
recording format (``sensor.recording``), the BLE client (``sensor.ble``), the timebase that
turns device clocks into host seconds, the simulator (``sensor.sim``, :mod:`sensor.simulate`)
and sources by URL (:mod:`sensor.sources`). Never imports ``processing`` or ``dashboard``.
"""
