"""What a model is: features, the model families, metadata, contributions and the bundle format.

- :mod:`~icipredict.model.features`: model inputs from the canonical table;
- :mod:`~icipredict.model.glm` (penalised spline logistic), :mod:`~icipredict.model.models`
  (:class:`~icipredict.model.models.IciModel`: a family, its calibration, TIL term and intervals);
- :mod:`~icipredict.model.metadata`: the typed ``model.json``; :mod:`~icipredict.model.bundle`: a
  model on disk (checksums, pickle-free estimator), the shipped models;
- :mod:`~icipredict.model.explain`: per-patient contributions.

Layer 5 of docs/architecture.md: may import ``exceptions``, ``table``, ``clinical`` and ``io``.
"""
