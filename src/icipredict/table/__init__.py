"""The patient-table contract: columns, units, ranges, aliases, vocabularies, display names, checks.

Imports only :mod:`icipredict.exceptions` (and the standard library, numpy, pandas).
"""
