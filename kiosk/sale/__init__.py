"""The pure sale machine: its vocabulary (model), its transition table (machine) and handlers.

No I/O, no clock, no randomness: time and ids come in as arguments.
"""
