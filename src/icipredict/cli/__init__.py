"""The command line: argument parsing (:mod:`~icipredict.cli.parser`) and what each command does
(:mod:`~icipredict.cli.commands`). Nothing imports this layer; it may import every other one.
"""

from icipredict.cli.parser import build_parser, main

__all__ = ["build_parser", "main"]
