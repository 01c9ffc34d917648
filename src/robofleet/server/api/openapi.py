"""The OpenAPI document: tags in the seed's order, both body encodings, an example per body,
and every status an operation can answer, with the one error shape (api.errors)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from robofleet.contract import LogLevel
from robofleet.server.api.routing import FORM
from robofleet.server.domain.permissions import Screen
from robofleet.server.schemas.documented import REF_SCHEMA
from robofleet.server.schemas.queues import TaskItem

TAGS: list[tuple[str, str]] = [
    ("API Key", "Assign or refresh API keys. Send a key as `Key: <key>`."),
    ("Robot", "Robots, and the protocol robots speak (heartbeat, consumeNextJob)."),
    ("Robot Groups", "Groups of robots that jobs and triggers can target."),
    ("Process", "Automation scenarios; one version of each is current."),
    ("Process Version", "Uploaded packages of a process."),
    ("Job", "Runs of a process version on a robot."),
    ("Queue", "Work queues."),
    ("Task", "Items of work in a queue, taken with a lease."),
    ("Trigger", "Schedules that create jobs."),
    ("Resource", "Shared text values, credentials and calendars."),
    ("Storage", "Folders of files."),
    ("Log", "Robot messages."),
    ("Account", "Accounts (tenants)."),
    ("User", "Users of an account, and login."),
    ("Role", "Rights per screen, and the access folders a role reaches."),
    ("Access Folder", "Folders that narrow which objects a role reaches."),
    ("Audit", "Who changed what, when, and from where."),
    ("Roboteasy", "The Roboteasy integration API."),
    ("Health", "Liveness and readiness probes."),
]


def operation_id(route: APIRoute) -> str:
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag.replace(' ', '')}-{route.name}"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _resolve(components.get(ref.rsplit("/", 1)[-1], {}), components)
    return schema


def _placeholder(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> Any:
    schema = _resolve(schema, components)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if depth > 4:
        return None
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        if _resolve(option, components).get("type") != "null":
            return _placeholder(option, components, depth + 1)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            name: _placeholder(prop, components, depth + 1)
            for name, prop in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [_placeholder(schema.get("items", {}), components, depth + 1)]
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2026-01-31T17:00:00Z"
    return {"integer": 1, "number": 1.0, "boolean": True, "string": "string"}.get(str(kind))


def _fill_examples(content: dict[str, Any], components: dict[str, Any]) -> None:
    for media in content.values():
        schema = media.get("schema")
        if schema is None or "example" in media or "examples" in media:
            continue
        media["example"] = _placeholder(schema, components)


ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorResponse",
    "description": "Every failure, in one shape (a superset of Roboteasy's Spring body).",
    "type": "object",
    "required": ["timestamp", "status", "error", "code", "message", "path", "details"],
    "properties": {
        "timestamp": {"type": "integer", "description": "Unix time in milliseconds."},
        "status": {"type": "integer", "description": "The HTTP status again."},
        "error": {"type": "string", "description": "The status's reason phrase."},
        "code": {"type": "string", "description": "What went wrong, for programs."},
        "message": {"type": "string", "description": "What went wrong, for people."},
        "path": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "problem"],
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
LOGIN_PATHS = {"/api/user/login", "/api/user/auth", "/api/user/v2/auth"}
"""Open operations that check a password: they answer 401 and 403 too."""

ERROR_STATUSES: dict[str, str] = {
    "400": "The body is not JSON, or not a form (malformed_request).",
    "401": "No credentials, or credentials that are not valid.",
    "403": "The caller may not do this.",
    "404": "A referenced object does not exist or belongs to another account.",
    "409": "The change conflicts with the object's state or with another object.",
    "413": "The body is larger than the server accepts.",
    "422": "A field is missing or not valid; `details` names each.",
    "503": "The database cannot be reached; retry.",
}


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """What an operation can answer besides its success: every one 404 (an unknown object),
    422 and 503; with credentials 401 and 403; with a body 400 and 413; writes 409."""
    if not path.startswith("/api/"):
        return []  # the health probes document their own answers
    statuses = ["404", "422", "503"]
    if operation.get("security") or path in LOGIN_PATHS:
        statuses += ["401", "403"]
    if "requestBody" in operation:
        statuses += ["400", "413"]
    if method != "get":
        statuses.append("409")
    return sorted(set(statuses))


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status in error_statuses(path, method, operation):
        # FastAPI's own 422 names its HTTPValidationError shape, which this server never sends.
        responses[status] = {
            "description": ERROR_STATUSES[status],
            "content": {"application/json": {"schema": ERROR_REF}},
        }


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A nullable schema without its null: a query parameter or a form field cannot carry a
    null (absent is null there), and a client that sends one sends the text `null`."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [option for option in options if option.get("type") != "null"]
    if len(kept) == len(options):
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _is_flat(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether a form field can carry the value: text, numbers, booleans, lists of those."""
    schema = _resolve(schema, components)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return all(_is_flat(option, components) for option in options)
    kind = schema.get("type")
    if kind == "array":
        return (
            _is_flat(schema.get("items", {}), components)
            and _resolve(schema.get("items", {}), components).get("type") != "array"
        )
    return kind in ("string", "integer", "number", "boolean", "null") or "const" in schema


def form_schema(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    """The body schema as a form carries it: no nulls, and no field holding an object or a
    list of objects (a form sends those as JSON text, documented under application/json).
    None when a required field holds one: that body is JSON only."""
    options = schema.get("anyOf")
    if isinstance(options, list):  # an optional body: anyOf [the model, null]
        models = [o for o in options if o.get("type") != "null"]
        if len(models) != 1:
            return None
        schema = models[0]
    resolved = _resolve(schema, components)
    required = set(resolved.get("required", []))
    properties: dict[str, Any] = {}
    for name, prop in resolved.get("properties", {}).items():
        if prop == {} or _resolve(prop, components) == {}:
            properties[name] = {"type": "string", "description": prop.get("description", "")}
            continue
        flat = as_text(_without_null(prop))
        if not _is_flat(flat, components):
            if name in required:
                return None
            continue
        if flat.get("type") == "array" and name not in required:
            flat = {"anyOf": [flat, {"type": "string", "maxLength": 0}]}  # `Groups=`: none
        properties[name] = flat
    form = {
        k: v for k, v in resolved.items() if k not in ("properties", "examples", "example", "anyOf")
    }
    form["properties"] = properties
    alternatives = [
        a for a in resolved.get("anyOf", []) if set(a.get("required", [])) <= set(properties)
    ]
    if "anyOf" in resolved and not alternatives:
        return None
    if len(alternatives) == 1:
        form["required"] = sorted(required | set(alternatives[0]["required"]))
    elif alternatives:
        form["anyOf"] = alternatives
    return form


def _add_form(body: dict[str, Any], components: dict[str, Any]) -> None:
    json_media = body["content"].get("application/json")
    if not json_media:
        return
    form = form_schema(json_media["schema"], components)
    if form is None:
        return
    ref = json_media["schema"].get("$ref")
    if ref is None:
        options = [o for o in json_media["schema"].get("anyOf", []) if o.get("type") != "null"]
        ref = options[0].get("$ref") if len(options) == 1 else None
    if isinstance(ref, str):
        name = f"{ref.rsplit('/', 1)[-1]}Form"
        components[name] = {**form, "title": name}
        form = {"$ref": f"#/components/schemas/{name}"}
    body["content"][FORM] = {"schema": form}


def _body_optional_when_nothing_is_required(
    body: dict[str, Any], components: dict[str, Any]
) -> None:
    """An empty body is read as `{}` (api.routing), so a body without a required field may be
    left out."""
    for media in body.get("content", {}).values():
        schema = _resolve(media.get("schema", {}), components)
        if schema.get("required") or schema.get("anyOf") or schema.get("type") != "object":
            return
    body["required"] = False


EMPTY_TEXT = {"type": "string", "maxLength": 0}


def _time_field(schema: dict[str, Any], *, required: bool) -> dict[str, Any]:
    """A time field (schemas.base.InputTime) as the server reads it: where optional, null and
    an empty string both mean none; where required, neither is a time."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    time = next((o for o in options if o.get("x-robofleet-time")), None)
    if time is None or not any(o.get("type") == "null" for o in options):
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    if required:
        return {**time, **rest}
    return {**rest, "anyOf": [time, {"type": "null"}, EMPTY_TEXT]}


def as_text(schema: dict[str, Any]) -> dict[str, Any]:
    """A time field as a form or a query carries it: Unix seconds only as digits."""
    if schema.get("x-robofleet-time"):
        branches = [
            {"type": "integer", "minimum": 0, "maximum": b.get("maximum", 253402214399)}
            if b.get("type") == "number"
            else b
            for b in schema.get("anyOf", [])
        ]
        return {**schema, "anyOf": branches}
    if isinstance(schema.get("anyOf"), list):
        return {**schema, "anyOf": [as_text(option) for option in schema["anyOf"]]}
    return schema


def _time_fields(components: dict[str, Any]) -> None:
    for component in components.values():
        required = set(component.get("required", []))
        properties = component.get("properties", {})
        for name, prop in properties.items():
            properties[name] = _time_field(prop, required=name in required)


def _query_without_null(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and "schema" in parameter:
            schema = _time_field(parameter["schema"], required=bool(parameter.get("required")))
            parameter["schema"] = as_text(_without_null(schema))


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NUL_FREE = "^[^\\u0000]*$"
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
JSON_VALUE: dict[str, Any] = {
    "title": "JsonValue",
    "description": "Any JSON a store keeps: text without NUL bytes, 64-bit whole numbers, "
    "finite numbers.",
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX},
        {"type": "number", "minimum": INT64_MIN, "maximum": INT64_MAX},
        {"type": "string", "pattern": NUL_FREE},
        {"type": "array", "items": JSON_VALUE_REF},
        {
            "type": "object",
            "propertyNames": {"pattern": NUL_FREE},
            "additionalProperties": JSON_VALUE_REF,
        },
    ],
}


_SPACE = "[\\s\\x1c-\\x1f\\x85]"
_SOLID = "[^\\s\\x1c-\\x1f\\x85\\u0000]"


def stripped_length_pattern(min_length: int) -> str:
    """No NUL byte, and at least `min_length` characters once stripped: request models strip
    surrounding whitespace before they count (schemas.base.SherpaModel)."""
    if min_length <= 0:
        return NUL_FREE
    if min_length == 1:
        return f"^{_SPACE}*{_SOLID}[^\\u0000]*$"
    return f"^{_SPACE}*{_SOLID}[^\\u0000]{{{min_length - 2},}}{_SOLID}{_SPACE}*$"


def storable(schema: Any) -> Any:
    """A request schema held to the rule every input obeys (domain.values): no NUL byte in
    text, whole numbers within 64 bits, JSON values likewise at any depth."""
    if not isinstance(schema, dict):
        return schema
    if schema == {}:
        return JSON_VALUE_REF
    out = dict(schema)
    kind = out.get("type")
    if kind == "string" and "enum" not in out and "const" not in out and "format" not in out:
        if "pattern" not in out:
            out["pattern"] = stripped_length_pattern(out.get("minLength", 0))
    elif kind == "integer":
        out["minimum"] = max(out.get("minimum", INT64_MIN), INT64_MIN)
        out["maximum"] = min(out.get("maximum", INT64_MAX), INT64_MAX)
    elif kind == "object" and not out.get("properties"):
        extra = out.get("additionalProperties", True)
        if extra is True or extra == {}:
            out["additionalProperties"] = JSON_VALUE_REF
            out.setdefault("propertyNames", {"pattern": NUL_FREE})
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [storable(option) for option in out[key]]
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: storable(p) for name, p in out["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict) and out[key] is not JSON_VALUE_REF:
            out[key] = storable(out[key])
    return out


def _request_components(document: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """The component schemas requests use (directly or nested), by name."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in found and name in components:
                    found.add(name)
                    visit(components[name])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            visit(operation.get("requestBody"))
            visit(operation.get("parameters"))
    return found


def _storable_requests(document: dict[str, Any], components: dict[str, Any]) -> None:
    for name in _request_components(document, components):
        components[name] = storable(components[name])
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if "schema" in parameter:
                    parameter["schema"] = storable(parameter["schema"])
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "schema" in media and "$ref" not in media["schema"]:
                    media["schema"] = storable(media["schema"])
    components["JsonValue"] = JSON_VALUE


# --- What a field accepts that its Python type does not say -----------------------------------

_HEX = "[0-9a-fA-F]"
_GUID = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
ID_OR_GUID: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        {"type": "string", "pattern": f"^([0-9]{{1,18}}|{_GUID}|\\{{{_GUID}\\}}|{_HEX}{{32}})$"},
    ],
    "description": "An id or a GUID (jobs and log lines have no name).",
}
NON_BLANK = REF_SCHEMA["anyOf"][1]["pattern"]
LEVEL: dict[str, Any] = {
    # Sherpa's numbers as an enum of whole numbers: the server takes 1, not 1.0.
    "enum": [level.value for level in LogLevel] + list(range(1, len(LogLevel) + 1)),
    "description": f"{', '.join(LogLevel)} (or 1..{len(LogLevel)}).",
}
RIGHTS: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"enum": [screen.value for screen in Screen]},
    "additionalProperties": {"type": "string", "pattern": "^[cruCRUD]*$"},
    "description": 'Rights per screen as letters from \'crud\', e.g. {"job": "cru"}.',
}
FOLDER: dict[str, Any] = {
    "anyOf": [REF_SCHEMA, {"const": 0}, {"type": "string", "maxLength": 0}, {"type": "null"}],
    "description": "Access folder (id, GUID or name); empty or 0 means the root.",
}
FILTERS = {
    "type": "string",
    "pattern": "^(status=[0-6]|priority=[1-3]|name=[A-Za-z0-9_-]{1,40}|offset=[0-9]{1,4})$",
    "description": "`status=0,1/priority=3/tags=+a;-b/name=INV-*` (or joined by `&`).",
}
PROTOCOL = ("HeartbeatRequest", "ConsumeRequest", "WaitJobRequest")
"""The robot protocol answers unknown jobs with a code, not an error: its fields stay text."""

FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "Job": ID_OR_GUID,
    "JobGuid": ID_OR_GUID,
    "Level": LEVEL,
    "Permissions": RIGHTS,
    "Folder": FOLDER,
}
"""Request fields, by name, that accept exactly this (keeping nullable where they were)."""

ONE_OF_REQUIRED: dict[str, list[list[str]]] = {
    "LogCreate": [["Message"], ["Lines"]],
    "RenewRequest": [["Guid", "LeaseId"], ["Items"]],
    "FinishRequest": [["Guid", "LeaseId", "Status"], ["Items"]],
}
NON_BLANK_WHEN_REQUIRED = {"LeaseId"}
"""A one-task body's lease id must be given (text, not blank) when there is no list."""
"""Bodies that take one object's fields or a list of them (their validators say which)."""

NOT_ACCEPTED = {("ProcessVersionUpdate", "ProcessFile")}
"""Fields a model declares only to refuse with a clear message."""


NOT_NULL = {("TakeRequest", "Priority"), ("TaskFilter", "Priority"), ("TaskFilter", "Status")}
"""Lists whose null the validators read as a list holding null (refused)."""

BLANK_IS_NONE = {("LogCreate", "JobGuid"), ("LogLine", "JobGuid")}
"""Plain text fields where an empty value means none."""


def _keep_null(original: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    options = original.get("anyOf")
    nullable = isinstance(options, list) and any(o.get("type") == "null" for o in options)
    extra = {k: v for k, v in original.items() if k in ("title", "default")}
    if nullable:
        return {"anyOf": [schema, {"type": "null"}], **extra}
    return {**schema, **extra}


def _refine_property(name: str, field: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """What one request field accepts; None when the document must not offer it."""
    if (name, field) in NOT_ACCEPTED:
        return None
    if (name, field) in BLANK_IS_NONE:  # plain text: a GUID or digits, or empty
        accepted = {"anyOf": [ID_OR_GUID["anyOf"][1], {"type": "string", "maxLength": 0}]}
        return _keep_null(schema, accepted)
    if (name, field) in NOT_NULL:
        return _without_null(schema)
    if field in FIELD_SCHEMAS and name not in PROTOCOL:
        return _keep_null(schema, FIELD_SCHEMAS[field])
    if field == "Guid" and name in ("JobRef", "JobUpdate"):
        return _keep_null(schema, ID_OR_GUID)
    return schema


def _alternative(fields: list[str]) -> dict[str, Any]:
    """One way to fill a one-or-many body: these fields given, as values (not null)."""
    constraints: dict[str, Any] = {field: {"not": {"type": "null"}} for field in fields}
    for field in NON_BLANK_WHEN_REQUIRED & set(fields):
        constraints[field] = {"type": "string", "pattern": NON_BLANK}
    return {"required": fields, "properties": constraints}


INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
ANY_ID = [INT64, REF_SCHEMA["anyOf"][1]]
_B64_BLOCK = "[A-Za-f][A-HQ-Xg-nw-z0-3][ABEFIJMNQRUVYZcdghklopstwx014589][A-Za-z0-9+/]"
_B64_END = "[A-Za-f][AQgw]==|[A-Za-f][A-HQ-Xg-nw-z0-3][AEIMQUYcgkosw048]="
BASE64_OF_ASCII = f"^(?:{_B64_BLOCK})+(?:{_B64_END})?$|^(?:{_B64_END})$"
"""Roboteasy's password: base64 of UTF-8 text. Said here for ASCII text (each character's
high bit clear), which a pattern can: arbitrary base64 bytes are not text and are refused."""


POSTPONED_NEEDS_TIME = {
    "if": {"required": ["Status"], "properties": {"Status": {"const": 5}}},
    "then": {
        "required": ["PostponedUntil"],
        "properties": {
            "PostponedUntil": {
                "not": {"anyOf": [{"type": "null"}, {"type": "string", "maxLength": 0}]}
            }
        },
    },
}
"""FinishItem's validator: Status 5 (Postponed) needs PostponedUntil."""


def _refine_fields(components: dict[str, Any], requests: set[str]) -> None:
    components["TaskItem"] = TaskItem.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    for name in requests | {"TaskItem"}:
        component = components[name]
        properties = component.get("properties", {})
        for field, schema in list(properties.items()):
            refined = _refine_property(name, field, schema)
            if refined is None:
                del properties[field]
            else:
                properties[field] = refined
        if name in ONE_OF_REQUIRED:
            component["anyOf"] = [_alternative(fields) for fields in ONE_OF_REQUIRED[name]]
    if "FinishRequest" in components:
        components["FinishRequest"].setdefault("allOf", []).append(POSTPONED_NEEDS_TIME)
    password = components.get("RoboteasyLogin", {}).get("properties", {}).get("password")
    if password:
        password["pattern"] = BASE64_OF_ASCII
    for model in ("RenewItem", "RenewRequest", "FinishRequest"):
        # In a list, a missing task is that item's result, not an error; beside a list, the
        # one-task fields are not used. So any id passes there, even one naming nothing.
        fields = components.get(model, {}).get("properties", {})
        if "Guid" in fields:
            fields["Guid"] = _keep_null(fields["Guid"], {**REF_SCHEMA, "anyOf": ANY_ID})
    bulk = components.get("BulkCreate", {}).get("properties", {}).get("Tasks")
    if bulk:
        bulk["items"] = {"$ref": "#/components/schemas/TaskItem"}


def _refine_parameters(path: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema, name = parameter.get("schema", {}), parameter.get("name", "")
        if parameter.get("in") == "path" and schema.get("type") == "string":
            if name == "filters":
                parameter["schema"] = {**schema, **FILTERS}
            elif name == "guid" and path.startswith(("/api/job/", "/api/log/")):
                parameter["schema"] = {**ID_OR_GUID, "title": schema.get("title", name)}
            else:  # every path value names an object: blank names none
                parameter["schema"] = {**schema, "pattern": NON_BLANK}
        elif parameter.get("in") == "query" and name in FIELD_SCHEMAS:
            parameter["schema"] = _keep_null(schema, FIELD_SCHEMAS[name])


def build_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=[{"name": name, "description": text} for name, text in TAGS],
    )
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorResponse"] = ERROR_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    _refine_fields(components, _request_components(document, components))
    _time_fields(components)
    for path, path_item in document.get("paths", {}).items():
        for operation in path_item.values():
            _refine_parameters(path, operation)
    _storable_requests(document, components)
    seen_ids: set[str] = set()
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            # One route serving several methods (Sherpa's POST-or-PUT) needs an id per method.
            if operation.get("operationId") in seen_ids:
                operation["operationId"] = f"{operation['operationId']}-{method}"
            seen_ids.add(operation.get("operationId", ""))
            _query_without_null(operation)
            body = operation.get("requestBody")
            if body and operation.pop("x-robofleet-form", False):
                _add_form(body, components)
            if body:
                _body_optional_when_nothing_is_required(body, components)
                _fill_examples(body.get("content", {}), components)
            _document_errors(path, method, operation)
            for response in operation.get("responses", {}).values():
                _fill_examples(response.get("content", {}), components)
    app.openapi_schema = document
    return document
