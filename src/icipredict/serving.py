"""The old name of :mod:`icipredict.serve.predict`, kept for MLflow models logged before the layout move.

Every MLflow model holds a copy of its models-from-code file; those logged before the package had
layer folders import ``icipredict.serving``. This module re-exports the names that file and users
imported, so those models keep loading and serving. New code imports :mod:`icipredict.serve.predict`.
"""

from icipredict.serve.predict import *  # noqa: F401,F403
from icipredict.serve.predict import __all__  # noqa: F401
