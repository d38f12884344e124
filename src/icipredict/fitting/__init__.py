"""Making models: training, model selection, updating, the model card, the figures of a run, MLflow tracking.

- :mod:`~icipredict.fitting.training` (:func:`train`), :mod:`~icipredict.fitting.selection`,
  :mod:`~icipredict.fitting.updating` (:func:`update`), :mod:`~icipredict.fitting.sources` (the
  cohorts a config names);
- :mod:`~icipredict.fitting.results`: :class:`TrainingResult`, :class:`UpdateResult`;
- :mod:`~icipredict.fitting.model_card`, :mod:`~icipredict.fitting.figures`,
  :mod:`~icipredict.fitting.tracking` (the only module that writes to MLflow).

Layer 10 of docs/architecture.md: may import every layer below: ``exceptions``, ``progress``, ``table``,
``clinical``, ``io``, ``model``, ``config``, ``serve``, ``evaluation``, ``plots``.
"""
