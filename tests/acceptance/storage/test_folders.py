"""Storage folders through a real server on every blob store: Sherpa's calls and forms,
nesting, paths as references, unique names per parent, moves, deletes."""

from __future__ import annotations

import httpx

from tests.acceptance.conftest import Tenant


def create(api: httpx.Client, name: str, parent: str | None = None) -> str:
    body = {"Name": name, **({"ParentGuid": parent} if parent else {})}
    response = api.post("/api/folders/create", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["guid"])


def test_create_read_list_as_sherpa_shows(tenant: Tenant) -> None:
    api = tenant.api
    guid = create(api, "Invoices")
    form = api.post(
        "/api/folders/create",
        data={"name": "2026", "description": "this year", "parent_guid": guid},
    )
    assert form.status_code == 200, form.text
    child = form.json()["guid"]

    row = api.get(f"/api/folders/read/{guid}").json()
    assert row["name"] == "Invoices"
    assert row["parent_guid"] is None
    assert row["path"] == "Invoices"
    assert row["is_deleted"] == 0
    assert {"id", "guid", "description", "account_id", "created_at", "updated_at"} <= set(row)

    by_path = api.get("/api/folders/read/Invoices/2026").json()
    assert by_path["guid"] == child
    assert by_path["parent_guid"] == guid
    assert by_path["description"] == "this year"
    by_id = api.get(f"/api/folders/read/{row['id']}").json()
    assert by_id["guid"] == guid

    everything = api.get("/api/folders/list").json()
    assert [f["path"] for f in everything] == ["Invoices", "Invoices/2026"]
    inside = api.get("/api/folders/list", params={"Parent": "Invoices"}).json()
    assert [f["guid"] for f in inside] == [child]
    top = api.get("/api/folders/list", params={"parent": ""}).json()
    assert [f["guid"] for f in top] == [guid]
    paged = api.get("/api/folders/list", params={"offset": 1, "count": 1}).json()
    assert [f["guid"] for f in paged] == [child]


def test_names_are_unique_per_parent_among_live_folders(tenant: Tenant) -> None:
    api = tenant.api
    first = create(api, "Reports")
    create(api, "Reports", parent=first)  # the same name under another parent is fine
    again = api.post("/api/folders/create", json={"Name": "Reports"})
    assert again.status_code == 409
    assert again.json()["code"] == "name_taken"
    slash = api.post("/api/folders/create", json={"Name": "a/b"})
    assert slash.status_code == 422
    assert slash.json()["details"][0]["field"] == "Name"

    assert api.delete(f"/api/folders/delete/{first}").status_code == 409  # not empty
    inner = api.get("/api/folders/read/Reports/Reports").json()["guid"]
    assert api.delete(f"/api/folders/delete/{inner}").json() == []
    assert api.delete(f"/api/folders/delete/{first}").json() == []
    assert api.get(f"/api/folders/read/{first}").status_code == 404
    create(api, "Reports")  # a deleted folder's name is free again


def test_update_renames_describes_and_moves(tenant: Tenant) -> None:
    api = tenant.api
    a = create(api, "A")
    b = create(api, "B")
    c = create(api, "C", parent=a)
    response = api.put(
        "/api/folders/update", json={"Guid": c, "Name": "C2", "Description": "moved"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == []
    assert api.get("/api/folders/read/A/C2").json()["description"] == "moved"

    assert api.put("/api/folders/update", data={"guid": c, "parent_guid": b}).status_code == 200
    assert api.get("/api/folders/read/B/C2").json()["guid"] == c
    assert api.put("/api/folders/update", json={"Guid": c, "ParentGuid": ""}).status_code == 200
    assert api.get("/api/folders/read/C2").json()["parent_guid"] is None

    # No cycles: a folder cannot move under itself or its own child.
    assert api.put("/api/folders/update", json={"Guid": b, "ParentGuid": "C2"}).status_code == 200
    cycle = api.put("/api/folders/update", json={"Guid": c, "ParentGuid": "C2/B"})
    assert cycle.status_code == 409
    assert cycle.json()["code"] == "folder_cycle"
    clash = api.put("/api/folders/update", json={"Guid": a, "Name": "C2"})
    assert clash.status_code == 409


def test_unknown_and_other_accounts_folders_are_404(tenant: Tenant, other_tenant: Tenant) -> None:
    guid = create(tenant.api, "Private")
    assert other_tenant.api.get(f"/api/folders/read/{guid}").status_code == 404
    assert other_tenant.api.get("/api/folders/read/Private").status_code == 404
    assert other_tenant.api.delete(f"/api/folders/delete/{guid}").status_code == 404
    missing = tenant.api.post("/api/folders/create", json={"Name": "x", "ParentGuid": "Nope"})
    assert missing.status_code == 404
    assert tenant.api.post("/api/folders/create", json={}).status_code == 422
