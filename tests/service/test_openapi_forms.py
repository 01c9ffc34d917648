"""A form body's schema in the OpenAPI document keeps the rules of the one alternative a form
can carry: a one-task finish or renew needs a lease id that is not blank, as the server says
(Schemathesis's coverage phase found the form schema accepting `LeaseId=`)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.service.conftest import Tenant


def form_component(tenant: Tenant, path: str) -> dict[str, Any]:
    document = tenant.api.get("/openapi.json").json()
    body = document["paths"][path]["post"]["requestBody"]["content"]
    ref = body["application/x-www-form-urlencoded"]["schema"]["$ref"]
    component: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return component


@pytest.mark.parametrize(
    ("path", "rest"),
    [("/api/task/finish", {"Status": "2"}), ("/api/task/renew", {"LeaseSeconds": "60"})],
)
def test_a_blank_lease_id_is_outside_the_form_schema_and_refused(
    tenant: Tenant, path: str, rest: dict[str, str]
) -> None:
    form = form_component(tenant, path)
    lease = form["properties"]["LeaseId"]
    assert "LeaseId" in form["required"]
    assert not re.search(lease["pattern"], "")
    assert not re.search(lease["pattern"], "   ")
    assert re.search(lease["pattern"], "a-lease")

    answer = tenant.api.post(path, data={"Guid": "0", "LeaseId": "", **rest})
    assert answer.status_code == 422
    assert "LeaseId" in answer.text
