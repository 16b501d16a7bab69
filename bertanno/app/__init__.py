"""The project-level layer: creating a project, training it (gate, retrain, rollback), the annotation session
with its live model and terminal, and the demo. It builds on ``core/`` (the engine and the project handle) and
``vocab/`` (term lists, vocabulary extension); only ``cli/`` imports it."""
