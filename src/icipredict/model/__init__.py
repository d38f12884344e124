"""What a model is: features, the model families, metadata and result types, the bundle format,
contributions, and loading a model from a folder, a shipped name or an MLflow URI.

May import :mod:`icipredict.exceptions`, ``table``, ``clinical`` and ``io``.
"""
