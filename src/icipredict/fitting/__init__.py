"""Training, model selection, updating (the time-to-event families in :mod:`icipredict.fitting.survival`)."""
