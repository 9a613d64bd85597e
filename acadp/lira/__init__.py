"""LiRA (Carlini et al. 2022, "Membership Inference Attacks From First Principles") as pure numpy functions.

Keep masks (:mod:`.keep`), per-query scores (:mod:`.scores`), attacks and their registry (:mod:`.attacks`), metrics
(:mod:`.metrics`) and empirical ε lower bounds (:mod:`.epsilon`). Nothing here imports torch, Ray or MLflow.
"""
