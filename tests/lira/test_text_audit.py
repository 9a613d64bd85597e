"""LiRA audits of text models (stand-in tweets and MiniLM, tests/text_fixtures.py): original queries only; readings
with signal queries plant the token in the raw documents."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from acadp.config.lira import ALL_VARIANTS, AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.data.tokens import wordpieces
from acadp.lira.shadow import signal_inputs
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import run_audit
from acadp.trial.data import prepare_trial_data
from tests.text_fixtures import RARE_WORD, write_text_standins


def text_trial(pool: int) -> TrialConfig:
    return build_trial_config(
        TrialOptions(
            dataset="tweets",
            alpha=0.1,
            epsilon=math.inf,
            target_class=2,
            n_train=pool,
            n_test=40,
            signal_options={"token": RARE_WORD, "every": 5},
            seq_len=24,
            training={"epochs": 2, "batch_size": 16, "lr": 2.0},
        )
    )


def test_a_text_audit_queries_the_original_documents(tmp_path: Path) -> None:
    data_dir = write_text_standins(tmp_path / "data", n_tweets=200)
    audit = AuditConfig(trial=text_trial(64), lira=LiraSettings(shadows=4, pool=64, concurrent_shadows=1))
    assert audit.queries == ("original",)
    store = ResultsStore(tmp_path / "store")
    record = run_audit(audit, store=store, data_dir=data_dir)
    assert record["n_shadows"] == 4 and record["n_pool"] == 64 and record["n_collective"] == 6
    headline = record["rows"][0]
    assert headline["subset"] == "all" and 0.0 <= headline["auc_mean"] <= 1.0
    logits = np.load(Path(store.root) / LAYOUT.audit(audit.key()).shadow_logits(0))
    assert logits.shape == (64, 1, 3)  # (pool, the original query only, classes)


def test_an_image_view_of_a_text_model_is_one_line() -> None:
    with pytest.raises(ValidationError) as caught:
        AuditConfig(trial=text_trial(64), lira=LiraSettings(shadows=4, pool=64, queries=("original", "shift_up")))
    message = caught.value.errors()[0]["msg"]
    assert "lira.queries: 'shift_up' is a view of an image, but tweets is text data" in message
    assert "use [original]" in message


def test_every_reading_of_a_text_audit_queries_documents_planted_as_text(tmp_path: Path) -> None:
    """Readings with signal queries or clean shadows ask every model about g(x): for text, the token planted in each
    raw pool document, then tokenised (as the members' documents were); the clean twin's shadows are trained once."""
    data_dir = write_text_standins(tmp_path / "data", n_tweets=200)
    lira = LiraSettings(shadows=4, pool=64, concurrent_shadows=1, attacks=("online",), variants=ALL_VARIANTS)
    audit = AuditConfig(trial=text_trial(64), lira=lira)
    pool = prepare_trial_data(audit.trial, data_dir=data_dir)
    signalled = signal_inputs(audit, pool)
    token = wordpieces(data_dir).token_id(RARE_WORD)
    assert signalled.shape == pool.planted.x.shape and (signalled == token).any(axis=1).all()
    np.testing.assert_array_equal(signalled[pool.planted.planted], pool.planted.x[pool.planted.planted])
    record = run_audit(audit, store=ResultsStore(tmp_path / "store"), data_dir=data_dir)
    assert {row["variant"] for row in record["rows"]} == {variant.name for variant in ALL_VARIANTS}
    assert all(0.0 <= row["auc_mean"] <= 1.0 for row in record["rows"] if row["subset"] == "all")
    twin = audit.clean_twin()
    assert twin is not None and twin.trial.alpha == 0.0
