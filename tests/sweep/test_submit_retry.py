"""``acadp sweep submit`` waits for a starting head's job agent: "No available agent" is retried, other errors not."""

from __future__ import annotations

from typing import Any

import pytest

from acadp.sweep.submit import submit_when_an_agent_is_up

NO_AGENT = "Request failed with status code 500: No available agent to submit job, please try again later.."


class FakeClient:
    """Fails with ``errors`` in turn, then returns a job id; records every call."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[dict[str, Any]] = []

    def submit_job(self, **job: Any) -> str:
        self.calls.append(job)
        if self.errors:
            raise self.errors.pop(0)
        return "raysubmit_1"


def test_a_head_without_a_job_agent_yet_is_retried_with_the_same_submission() -> None:
    client = FakeClient(RuntimeError(NO_AGENT), RuntimeError(NO_AGENT))
    job_id = submit_when_an_agent_is_up(client, poll_seconds=0.01, entrypoint="x", submission_id="acadp-s-1")
    assert job_id == "raysubmit_1" and len(client.calls) == 3
    assert all(call == {"entrypoint": "x", "submission_id": "acadp-s-1"} for call in client.calls)


def test_other_errors_and_an_agent_that_never_comes_are_raised() -> None:
    refused = FakeClient(RuntimeError("Request failed with status code 401: Unauthorized"))
    with pytest.raises(RuntimeError, match="401"):
        submit_when_an_agent_is_up(refused, poll_seconds=0.01, entrypoint="x")
    assert len(refused.calls) == 1
    never = FakeClient(*[RuntimeError(NO_AGENT)] * 1000)
    with pytest.raises(RuntimeError, match="No available agent"):
        submit_when_an_agent_is_up(never, wait=0.1, poll_seconds=0.02, entrypoint="x")
    assert 2 <= len(never.calls) < 20
