"""Seawall: continuous checks of platform security promises.

Data flows one way: config -> <suite>/engine (gathers facts) -> <suite>/rules (pure
judgement) -> model.Finding -> expect() in probes -> plugin -> report/*.
"""

__version__ = "0.1.0"
