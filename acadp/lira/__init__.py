"""LiRA (Carlini et al. 2022, "Membership Inference Attacks From First Principles"): the attack as pure functions on
arrays, the audit's settings, and the shadow models it needs.

Pure numpy (scipy and scikit-learn for statistics), no torch: keep masks (:mod:`.keep`), per-query scores
(:mod:`.scores`), attacks and their registry (:mod:`.attacks`), leave-one-out conventions (:mod:`.conventions`),
member subsets (:mod:`.subsets`), metrics (:mod:`.metrics`), ε lower bounds (:mod:`.epsilon`, :mod:`.bounds`, and
the one a row reports, :mod:`.target_bound`) and the audit's numbers from the shadows' logits (:mod:`.audit`).
:mod:`.settings` holds the audit settings (pydantic, over a :class:`~acadp.config.trial.TrialConfig`).
:mod:`.shadow` trains the shadow models and so imports torch and the trial stage (:mod:`acadp.trial.run`). Nothing
here imports Ray or MLflow: the sweep's :mod:`acadp.sweep.audit_runner` runs shadows on Ray and stores them.
"""
