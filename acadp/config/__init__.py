"""Configuration: what to run, as data validated at load time (no torch, Ray or MLflow here).

``base`` (frozen models, strict JSON), ``describe`` (validation errors as one line), ``models`` and ``pretrain``
(model and pre-training choices), ``trial`` (one trial's config and its key), ``presets`` (per-dataset defaults),
``resolve`` (the one function that applies a user's overrides to a preset), ``sweep`` (the sweep-file schema and its
grid), ``yaml_source`` (a sweep file's YAML with the line of every key, duplicate keys refused), ``no_effect``
(training keys that change no trial, refused) and ``options`` (command-line values). May import: ``errors``,
``registry``, ``collective``, ``data`` (names only), ``lira.settings``/``lira.attacks`` (audit settings). Nothing here
trains or writes files.
"""
