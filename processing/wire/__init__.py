"""Contract 3 on the wire: MQTT topics, JSON payloads, broker URLs and the payload schemas.

Builds and checks bytes; opens no connection (that is :mod:`processing.live`). May import
:mod:`processing.events`, ``processing.wire.*``, the standard library, numpy, jsonschema
and referencing.
"""
