"""Using a model: loading it (folder, shipped name, MLflow URI), the predict pipeline and its warning
texts, and the MLflow pyfunc (models from code).

- :mod:`~icipredict.serve.predict`: :func:`~icipredict.serve.predict.load_model`, :func:`~icipredict.serve.predict.predict`;
- :mod:`~icipredict.serve.store`: the MLflow store a ``runs:/`` or ``models:/`` model is read from;
- ``pyfunc_model.py``: the file MLflow runs; the package never imports it.

Layer 7 of docs/architecture.md: may import ``exceptions``, ``table``, ``clinical``, ``io``, ``model`` and
``config``.
"""
