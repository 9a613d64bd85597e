"""The sweep service — orchestration only: plan a sweep file into trial and audit configs (``plan``, ``preflight``),
run them as Ray Tune trials keyed by config (``driver``, ``trainable``, ``audit_runner``), log to MLflow
(``tracking``), report state from the store (``status``, ``progress``, ``lease``), submit jobs (``submit``), reduce
(``reducing``) and serve the UI (``ui``).

The only stage that imports Ray and MLflow. May import every lower stage: ``config``, ``trial``, ``learners``,
``lira``, ``store``, ``reduce``; nothing but ``cli`` imports it.
"""
