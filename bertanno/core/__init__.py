"""The engine: model bundles, loading, inference, training, evaluation, scheduling."""
