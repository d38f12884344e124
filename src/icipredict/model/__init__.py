"""What a model is: model families (the time-to-event ones in :mod:`icipredict.model.survival`)."""
