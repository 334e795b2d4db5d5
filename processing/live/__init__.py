"""The live service and its I/O: sources to pipeline to MQTT, outbox, store, console and cue.

Owns everything with an event loop, a socket or a thread: :mod:`processing.live.service`
runs one pipeline per lifter and hands events to the MQTT publisher
(:mod:`processing.live.mqtt`), the session store writer and the console. May import
``processing.detect``, ``processing.wire``, ``processing.store``, :mod:`processing.events` and
``sensor``; never ``processing.offline``, ``processing.commands`` or ``dashboard``.
"""
