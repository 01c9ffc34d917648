"""A batch finish item read without the model: only what FinishItem accepts, read alike."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from pydantic import ValidationError

from robofleet.server.domain.refs import NO_LEASE, is_guid
from robofleet.server.schemas.queues import FinishItem, RenewItem, plain_finish
from robofleet.server.services.tasks.state import only_a_status

GUID = "5f0c7a52-3b1e-4c2d-9a8f-0123456789ab"
LEASE = "0b9e2d4c-7a61-4f38-8e15-c2d3a4b5e6f7"
GUID_KEYS = ["Guid", "guid", "GUID", " Guid ", "TaskGuid"]
LEASE_KEYS = ["LeaseId", "lease_id", "leaseId", "LeaseID", "lease-id", "Lease"]
STATUS_KEYS = ["Status", "status", "STATUS", "State"]
GUIDS: list[Any] = [
    GUID,
    GUID.upper(),
    f"  {GUID}\t",
    "{" + GUID.upper() + "}",
    GUID.replace("-", ""),
    GUID[:-1],
    "1" * 32,  # a GUID's form, but digits: an id (past 64 bits) to the model
    "12",
    "a name",
    "",
    "\x00" + GUID,
    12,
    None,
    True,
]
LEASES: list[Any] = [
    LEASE,
    LEASE.upper(),
    "{" + LEASE + "}",
    "L-1",
    " Ab-Cd ",
    "",
    "   ",
    "\x1c",
    "x\x00y",
    "\u00a0lease\u3000",
    5,
    None,
]
STATUSES: list[Any] = [0, 1, 2, 3, 4, 5, 6, 7, -1, True, "2", 2.0, None]


def _expected(raw: dict[str, Any]) -> tuple[str, str, int] | None:
    """What the batch finish groups the item by when the model reads it (or None)."""
    try:
        item = FinishItem.model_validate(raw)
    except ValidationError:
        return None
    if not only_a_status(item) or not is_guid(str(item.guid)):
        return None
    return str(item.guid).strip().lower(), item.lease_id.strip().lower(), item.status


def _read(raw: dict[str, Any]) -> tuple[str, str, int] | None:
    plain = plain_finish(raw)
    return None if plain is None else (plain.guid, plain.lease_id, plain.status)


def test_what_robots_send_is_read_without_the_model() -> None:
    for status in (2, 3, 4):  # Success, and the two failures
        raw = {"Guid": GUID.upper(), "LeaseId": f" {LEASE.upper()} ", "Status": status}
        assert _read(raw) == (GUID, LEASE, status) == _expected(raw)


def test_a_lease_id_that_is_no_guid_names_no_lease() -> None:
    # Leases are GUIDs; PostgreSQL's `uuid` column could not even compare this text.
    raw = {"Guid": GUID, "LeaseId": "not-the-lease", "Status": 2}
    assert _read(raw) == (GUID, NO_LEASE, 2) == _expected(raw)


def test_every_accepted_item_is_the_models_reading() -> None:
    accepted = 0
    for values in itertools.product(GUIDS, LEASES, STATUSES):
        raw = dict(zip(("Guid", "LeaseId", "Status"), values, strict=True))
        read = _read(raw)
        if read is not None:
            accepted += 1
            assert read == _expected(raw), raw
    assert accepted > 20  # the common forms are read here, not all left to the model


def test_spellings_extra_and_repeated_fields() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        raw: dict[str, Any] = {
            rng.choice(GUID_KEYS): rng.choice(GUIDS),
            rng.choice(LEASE_KEYS): rng.choice(LEASES),
            rng.choice(STATUS_KEYS): rng.choice(STATUSES),
        }
        if rng.random() < 0.3:
            raw[rng.choice(["Output", "Error", "PostponedUntil", "guid", "Status", "x"])] = (
                rng.choice([None, "", "done", {"a": 1}])
            )
        read = _read(raw)
        if read is not None:
            assert read == _expected(raw), raw


def test_a_postponement_or_an_output_is_the_models_to_read() -> None:
    assert plain_finish({"Guid": GUID, "LeaseId": "L", "Status": 5}) is None  # Postponed
    assert plain_finish({"Guid": GUID, "LeaseId": "L", "Status": 2, "Output": None}) is None
    assert plain_finish({"Guid": GUID, "guid": GUID, "Status": 2}) is None
    assert plain_finish([GUID, "L", 2]) is None


def test_a_nul_byte_in_a_lease_id_is_refused_not_read_as_no_lease() -> None:
    for model, raw in (
        (FinishItem, {"Guid": GUID, "LeaseId": f"{LEASE}\x00", "Status": 2}),
        (RenewItem, {"Guid": GUID, "LeaseId": "x\x00y"}),
    ):
        with pytest.raises(ValidationError, match="NUL"):
            model.model_validate(raw)
