"""Making models: training, model selection, updating, the model card, MLflow tracking.

May import every layer below: ``exceptions``, ``table``, ``clinical``, ``io``, ``model``, ``config``,
``evaluation``, ``plots``, ``progress``.
"""
