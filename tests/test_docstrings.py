"""The examples in the package's docstrings run and print what they say.

A docstring example is documentation a user copies; one that names a removed config key or a
renamed column misleads. Every module of the package is imported and its examples run, except
the models-from-code copy inside the shipped model (MLflow executes that file, not Python's import).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys

import pytest

import icipredict

MODULES = sorted(m.name for m in pkgutil.walk_packages(icipredict.__path__, "icipredict.")
                 if not m.name.startswith("icipredict.shipped"))


def test_every_module_is_found():
    assert {"icipredict.table.schema", "icipredict.config", "icipredict.table.labels", "icipredict.io.table"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    module = importlib.import_module(name)
    if name == "icipredict.serve.scoring_guard":
        # its example is a plain Python session, where MLflow's scoring server is not loaded; an earlier test of
        # this worker that loaded a pyfunc in-process may have loaded it (the outcome then hung on the file order)
        monkeypatch.delitem(sys.modules, module.SERVER_MODULE, raising=False)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed (run " \
                               f"`python -m pytest --doctest-modules src/{name.replace('.', '/')}.py` to see them)"
