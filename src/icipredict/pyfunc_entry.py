"""MLflow "models from code" entry point: the pyfunc whose ``predict`` is :func:`icipredict.predict`.

MLflow executes this file when it loads the logged model; it holds no state of its own, so nothing is
unpickled. The model's weights come from the bundle artefact, loaded by ``load_context``.
"""

from mlflow.models import set_model

from icipredict.tracking import make_pyfunc

set_model(make_pyfunc())
