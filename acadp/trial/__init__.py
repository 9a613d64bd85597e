"""One trial: prepare data, plant the collective, train with a learner (epoch checkpoints), measure; the result record.

May import: ``config``, ``data``, ``collective``, ``models``, ``learners``, ``store`` (checkpoints). Never Ray or
MLflow: the sweep wraps this stage.
"""
