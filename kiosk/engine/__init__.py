"""Runs the sale machine, journal first: runner, worker, calls (effects), journal, reconcile,
refunds, and the one clock.
"""
