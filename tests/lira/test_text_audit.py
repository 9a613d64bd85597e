"""LiRA audits of text models (stand-in tweets and MiniLM, tests/text_fixtures.py): original queries only."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import run_audit
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
