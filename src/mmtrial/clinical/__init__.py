"""The pure clinical core: rules as functions of plain data that return their reasons.

No Django, no I/O, no clock. Every number comes from the protocol (`mmtrial.protocol`).
"""
