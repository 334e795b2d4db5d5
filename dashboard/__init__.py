"""The Streamlit dashboard: live page, sessions, session review, progress and soreness.

Reads the session store (``processing.store``) and subscribes to MQTT (``processing.wire``
for topics and broker URLs); shares :mod:`processing.events` with the rest. Never imports
``processing.detect`` (it shows what the service measured, it does not measure) or
``processing.live`` (it runs beside the service, not inside it).
"""
