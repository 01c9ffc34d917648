"""Every operation of the API, read from the server's own /openapi.json, gets each kind of bad
input it takes (a NUL byte in its text, 2^63 in its whole numbers, an out-of-range date, an
empty reference, Infinity in its decimals), one request per operation and kind, on both
stores: the answer is a 4xx that names the field, never a 5xx, and nothing changes.

The walk is generic on purpose: an operation added later is walked without a line here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.acceptance.conftest import Tenant, make_tenant
from tests.support.fleet import create_job, make_process, make_robot
from tests.support.server import ServerProcess

NUL = "bad\x00value"
INT_2_63 = 2**63
DATE_ISO = "9999-12-31T23:59:59-14:00"  # the year 10000 in UTC
DATE_UNIX = 1e20  # Unix seconds past any calendar
KINDS = ("nul", "int64", "date_iso", "date_unix", "empty_ref", "infinity")
METHODS = ("get", "post", "put", "patch", "delete")
NO_INPUT = {"/healthz", "/readyz"}
EMPTY_MEANS_ROOT = {"Folder", "ParentGuid", "FolderGuid", "Parent"}
"""An empty access folder is the root (schemas.base.FolderRef); so is an empty storage folder
(schemas.storage.ParentRef)."""


# --- reading the OpenAPI document ---------------------------------------------------------------


@dataclass
class Schemas:
    components: dict[str, Any]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def branches(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The non-null alternatives of a schema (anyOf/oneOf), each resolved."""
        schema = self.resolve(schema)
        options = schema.get("anyOf") or schema.get("oneOf")
        if not options:
            return [schema] if schema.get("type") != "null" else []
        found: list[dict[str, Any]] = []
        for option in options:
            found += self.branches(option)
        return found

    def kind_of(self, schema: dict[str, Any]) -> str:
        """date, ref, integer, number, string, enum, boolean, array, model, json or any."""
        branches = self.branches(schema)
        types = {b.get("type") for b in branches}
        if any(b.get("format") == "date-time" for b in branches):
            return "date"
        if "array" in types:
            return "array"  # a list of codes, also as one number or `1,3` text (filters)
        if {"integer", "string"} <= types:
            return "ref"  # a related object by id, GUID or name (schemas.base.Ref)
        if not branches or (types == {None} and not any("properties" in b for b in branches)):
            return "any"
        first = branches[0]
        if "enum" in first or "const" in first:
            return "enum"
        if first.get("format") == "binary":
            return "binary"
        if "properties" in first:
            return "model"
        if first.get("type") == "object":
            return "json"  # free-form JSON: parameters, outputs
        return str(first.get("type") or "any")


@dataclass
class Built:
    """A request part built for one kind of bad input; `mutated` names what carries it."""

    value: Any
    mutated: list[str] = field(default_factory=list)


def bad_value(kind: str, field_kind: str) -> Any:
    """The bad value of `kind` for a field of `field_kind`, or None if it takes none."""
    if kind == "nul" and field_kind in ("string", "ref", "any"):
        return NUL
    if kind == "nul" and field_kind == "json":
        return {"key": NUL}
    if kind == "int64" and field_kind in ("integer", "ref", "any"):
        return INT_2_63
    if kind == "int64" and field_kind == "json":
        return {"key": INT_2_63}
    if kind == "date_iso" and field_kind == "date":
        return DATE_ISO
    if kind == "date_unix" and field_kind == "date":
        return DATE_UNIX
    if kind == "empty_ref" and field_kind == "ref":
        return ""
    if kind == "infinity" and field_kind == "number":
        return "Infinity"
    return None


def good_value(schemas: Schemas, schema: dict[str, Any], name: str) -> Any:
    """A plausible value for a required field, so the bad one is what the server judges."""
    field_kind = schemas.kind_of(schema)
    branch = (schemas.branches(schema) or [{}])[0]
    examples = schema.get("examples") or branch.get("examples")
    if field_kind == "ref":
        return str(uuid.uuid4())
    if field_kind == "date":
        return "2030-01-01T00:00:00Z"
    if field_kind == "enum":
        return (branch.get("enum") or [branch.get("const")])[0]
    if examples and field_kind in ("string", "json"):
        return examples[0]
    if field_kind == "integer":
        return int(branch.get("minimum", 1))
    if field_kind == "number":
        return float(branch.get("minimum", 1)) or 1.0
    if field_kind == "boolean":
        return False
    if field_kind == "array":
        items = branch.get("items", {})
        return [good_value(schemas, items, name)] if branch.get("minItems") else []
    if field_kind == "model":
        return build_object(schemas, branch, kind=None).value
    if field_kind == "json":
        return {}
    if field_kind == "binary":
        return "cHJpbnQoMSkK"  # base64 of a script, for JSON uploads
    if name.lower() == "password":
        return "Y29ycmVjdCBob3JzZQ=="  # base64: Roboteasy's login decodes it
    return f"probe-{uuid.uuid4().hex[:6]}"


def build_field(schemas: Schemas, schema: dict[str, Any], kind: str, path: str) -> Built | None:
    """The bad value for this field (or inside it), or None when it takes no such input."""
    field_kind = schemas.kind_of(schema)
    bad = bad_value(kind, field_kind)
    if bad is not None:
        return Built(bad, [path])
    branch = (schemas.branches(schema) or [{}])[0]
    if field_kind == "array":
        inner = build_field(schemas, branch.get("items", {}), kind, f"{path}[0]")
        return Built([inner.value], inner.mutated) if inner else None
    if field_kind == "model":
        built = build_object(schemas, branch, kind=kind, prefix=f"{path}.")
        return built if built.mutated else None
    return None


def build_object(
    schemas: Schemas, schema: dict[str, Any], *, kind: str | None, prefix: str = ""
) -> Built:
    """Required fields with good values; every field that takes `kind` with a bad one."""
    schema = (schemas.branches(schema) or [{}])[0]
    required = set(schema.get("required", []))
    body: dict[str, Any] = {}
    mutated: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        takes = kind and not (kind == "empty_ref" and name in EMPTY_MEANS_ROOT)
        built = build_field(schemas, prop, kind, prefix + name) if takes else None
        if built is not None:
            body[name] = built.value
            mutated += built.mutated
        elif name in required:
            body[name] = good_value(schemas, prop, name)
    return Built(body, mutated)


@dataclass
class Probe:
    method: str
    path: str
    kind: str
    url: str
    params: dict[str, Any]
    body: Any
    mutated: list[str]
    where: str  # path, query or body

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path} [{self.kind} in {self.where}]"


def path_value(kind: str) -> str | None:
    return {"nul": NUL, "int64": str(INT_2_63)}.get(kind)


def query_value(schemas: Schemas, schema: dict[str, Any], kind: str) -> Any:
    built = build_field(schemas, schema, kind, "")
    if built is None:
        return None
    value = built.value
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value) if not isinstance(value, str) else value


def url_of(path: str, values: dict[str, str | None]) -> str:
    """The path with its parameters filled: the bad value where given, else a fresh GUID."""
    for name, value in values.items():
        filled = value if value is not None else str(uuid.uuid4())
        path = path.replace("{" + name + "}", quote(filled, safe=""))
    return path


def probes(document: dict[str, Any]) -> Iterator[Probe]:
    """For each operation and kind of input it takes: one request with every body and query
    field of that kind carrying the bad value (its path holding good GUIDs), and one with
    the bad value in its path parameters."""
    schemas = Schemas(document.get("components", {}).get("schemas", {}))
    for path, item in document["paths"].items():
        if path in NO_INPUT:
            continue
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = operation.get("parameters", [])
            path_names = [p["name"] for p in parameters if p["in"] == "path"]
            content = operation.get("requestBody", {}).get("content", {})
            body_schema = content.get("application/json", {}).get("schema")
            for kind in KINDS:
                query: dict[str, Any] = {}
                for p in parameters:
                    empty_is_root = kind == "empty_ref" and p["name"] in EMPTY_MEANS_ROOT
                    if p["in"] == "query" and not empty_is_root:
                        bad = query_value(schemas, p.get("schema", {}), kind)
                        if bad is not None:
                            query[p["name"]] = bad
                body = build_object(schemas, body_schema, kind=kind) if body_schema else None
                good_body = build_object(schemas, body_schema, kind=None) if body_schema else None
                mutated = list(query) + (body.mutated if body else [])
                if mutated:
                    yield Probe(
                        method=method,
                        path=path,
                        kind=kind,
                        url=url_of(path, dict.fromkeys(path_names)),
                        params=query,
                        body=body.value if body else None,
                        mutated=mutated,
                        where="+".join(w for w, n in (("query", query), ("body", body)) if n),
                    )
                bad_path = path_value(kind)
                if path_names and bad_path is not None:
                    yield Probe(
                        method=method,
                        path=path,
                        kind=kind,
                        url=url_of(path, dict.fromkeys(path_names, bad_path)),
                        params={},
                        body=good_body.value if good_body else None,
                        mutated=path_names,
                        where="path",
                    )


# --- the walk -----------------------------------------------------------------------------------


@pytest.fixture
def manager(server: ServerProcess) -> Iterator[Tenant]:
    """An account that may manage accounts, so account operations reach their validation."""
    made = make_tenant(server, can_create_accounts=True)
    yield made
    made.api.close()


def snapshot(api: httpx.Client) -> dict[str, Any]:
    """What the account holds, through its list operations."""
    reads = [
        "/api/robot/read",
        "/api/robotGroup/read",
        "/api/process/read",
        "/api/queue/list",
        "/api/job/list",
        "/api/user/read",
        "/api/role/read",
        "/api/accessFolder/read",
        "/api/account/read",
        "/api/log/list",
        "/api/apiKey/read",
        "/api/schedule/list",
    ]
    state: dict[str, Any] = {}
    for path in reads:
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)
        state[path] = response.json()
    return state


def send(api: httpx.Client, probe: Probe) -> httpx.Response:
    kwargs: dict[str, Any] = {"params": probe.params}
    if probe.body is not None:
        kwargs["json"] = probe.body
    return api.request(probe.method.upper(), probe.url, **kwargs)


def unnamed_fields(response: httpx.Response, probe: Probe) -> list[str]:
    """The fields that carried the bad value and that the refusal does not name."""

    def norm(text: str) -> str:
        return text.replace("_", "").replace(".", "").replace("[0]", "").lower()

    named = [norm(str(d.get("field", ""))) for d in response.json().get("details", [])]
    return [
        name
        for name in probe.mutated
        if not any(n and (norm(name).startswith(n) or n.startswith(norm(name))) for n in named)
    ]


def spring_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    """Roboteasy's operations: they refuse in Spring's body, which has no `details`."""
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "SpringErrorResponse"
        in str(operation.get("responses", {}).get("400", {}).get("content", {}))
    }


def refused_as_spring_does(response: httpx.Response, probe: Probe) -> bool:
    """A value no login can hold is a failed login (401); any other is a 400 whose message
    names each field."""
    body = response.json()
    if list(body) != ["timestamp", "status", "error", "message", "path"]:
        return False
    if response.status_code == 401:
        return probe.path in {"/api/user/auth", "/api/user/v2/auth"}
    last = [name.rsplit(".", 1)[-1].split("[")[0] for name in probe.mutated]
    return response.status_code == 400 and all(name in body["message"] for name in last)


def test_every_operation_refuses_each_kind_of_bad_input_with_a_4xx(manager: Tenant) -> None:
    api = manager.api
    process = make_process(api)
    create_job(api, process)
    make_robot(api)
    queue = api.post("/api/queue/create", json={"Name": "walk"}).json()["guid"]
    assert api.post("/api/task/create", json={"Queue": queue, "Name": "t"}).status_code == 200
    document = httpx.get(f"{manager.server.url}/openapi.json").json()
    before = snapshot(api)
    spring = spring_operations(document)
    assert len(spring) == 7

    all_probes = list(probes(document))
    kinds_seen = {p.kind for p in all_probes}
    assert kinds_seen == set(KINDS), f"the walk found no field for {set(KINDS) - kinds_seen}"
    operations = {(p.method, p.path) for p in all_probes}
    assert len(operations) >= 90  # every operation with an input (the document has ~100)

    server_errors: list[str] = []
    not_refused: list[str] = []
    unnamed: list[str] = []
    for probe in all_probes:
        try:
            response = send(api, probe)
        except httpx.TransportError as exc:  # a server that fails may drop the connection
            server_errors.append(f"{probe.label} -> connection lost ({exc!r})")
            continue
        outcome = f"{probe.label} -> {response.status_code} {response.text[:200]}"
        if response.status_code >= 500:
            server_errors.append(outcome)
        elif not 400 <= response.status_code < 500:
            not_refused.append(outcome)
        elif (probe.method, probe.path) in spring and probe.where != "path":
            if not refused_as_spring_does(response, probe):
                unnamed.append(f"{outcome} (not as Spring refuses: {probe.mutated})")
        elif probe.where != "path" and (
            response.status_code != 422 or unnamed_fields(response, probe)
        ):
            unnamed.append(f"{outcome} (unnamed: {unnamed_fields(response, probe)})")
    assert server_errors == []
    assert not_refused == []
    assert unnamed == []  # body and query refusals are 422s that name the field
    assert snapshot(api) == before  # nothing changed (the key still works, too)
