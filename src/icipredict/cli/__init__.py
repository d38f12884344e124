"""The command line: argument parsing (:mod:`~icipredict.cli.parser`) and one module per group of
commands (``data``: synth, validate; ``fit``: train, evaluate, update; ``predict``: predict, explain;
``serve``), with the helpers they share in ``common``. Nothing imports this layer; it may import
every other one.
"""

from icipredict.cli.parser import build_parser, main

__all__ = ["build_parser", "main"]
