"""Making models: training, model selection, updating, the model card, the figures of a run, MLflow tracking.

- :mod:`~icipredict.fitting.training` (:func:`train`), :mod:`~icipredict.fitting.selection`,
  :mod:`~icipredict.fitting.updating` (:func:`update`), :mod:`~icipredict.fitting.sources` (the
  cohorts a config names);
- :mod:`~icipredict.fitting.survival` (the time-to-event families, selected and fitted),
  :mod:`~icipredict.fitting.curve_validation` (their curve on held-out studies, the
  proportional-hazards check), :mod:`~icipredict.fitting.curve_updating` (their baseline and slope
  recalibrated on a centre's PFS);
- :mod:`~icipredict.fitting.results`: :class:`TrainingResult`, :class:`UpdateResult`;
- :mod:`~icipredict.fitting.model_card`, :mod:`~icipredict.fitting.figures`,
  :mod:`~icipredict.fitting.tracking` (the only module that writes to MLflow);
- :mod:`~icipredict.fitting.survival`: the time-to-event families, selected and fitted.

Layer 10 of docs/architecture.md: may import every layer below: ``exceptions``, ``progress``, ``table``,
``clinical``, ``io``, ``model``, ``config``, ``serve``, ``evaluation``, ``plots``.
"""
