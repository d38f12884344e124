"""Using a model: the predict pipeline, its warning texts and the MLflow pyfunc (models from code).

May import the layers below: ``exceptions``, ``table``, ``clinical``, ``io``, ``model``.
"""
