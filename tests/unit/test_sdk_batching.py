"""The SDK's batching rules that need no server: the batch size's bounds and what a refusal
says."""

from __future__ import annotations

import pytest

from robofleet.sdk import FinishRefused, RobofleetError, queue
from robofleet.sdk.batching import Refusal


@pytest.mark.parametrize("batch", [0, -1, 1001])
def test_a_batch_out_of_the_servers_bounds_is_refused_before_any_call(batch: int) -> None:
    with pytest.raises(ValueError, match="batch must be 1 to 1000"):
        next(queue("Invoices").take_each(batch=batch))


def test_a_refusal_names_each_task_and_why() -> None:
    refused = FinishRefused([Refusal("g1", "lease_lost", "it is Failed (Business), not taken")])
    assert isinstance(refused, RobofleetError)
    assert (refused.status, refused.code) == (409, "finish_refused")
    assert (
        refused.message
        == "1 finish(es) refused: g1: lease_lost: it is Failed (Business), not taken"
    )


def test_a_long_refusal_lists_ten_and_counts_the_rest() -> None:
    refused = FinishRefused([Refusal(f"g{i}", "lease_lost", "expired") for i in range(12)])
    assert refused.message.startswith("12 finish(es) refused: g0: lease_lost: expired; g1:")
    assert "g9: lease_lost: expired (and 2 more)" in refused.message
    assert "g10" not in refused.message
    assert len(refused.refusals) == 12
