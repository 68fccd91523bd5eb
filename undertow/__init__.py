"""Undertow: reads what customers write and flags the churn risks a health score misses."""

__version__ = "0.1.0"
