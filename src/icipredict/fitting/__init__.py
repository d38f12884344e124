"""Making models: training, model selection, updating, the model card, MLflow tracking.

May import every layer below: ``exceptions``, ``table``, ``clinical``, ``io``, ``model``, ``config``,
``evaluation``, ``plots``, ``progress``.

The time-to-event families are selected and fitted in :mod:`icipredict.fitting.survival`.
"""
