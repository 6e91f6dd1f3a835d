"""The test toolkit: row builders (``factories``), a fake Twilio and each area's helpers.

Imported as ``support.<module>``: setup.cfg puts ``tests/`` on the import path.
"""
