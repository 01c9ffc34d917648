"""What single request fields accept that their Python types do not say: job references are
ids or GUIDs, log levels and rights are named, one-or-many bodies, and so on. Keyed by the
component and field names of the OpenAPI document; Schemathesis
(tests/acceptance/test_fuzz_schemathesis.py) holds the document to the server, so a renamed
field shows there."""

from __future__ import annotations

from typing import Any

from robofleet.contract import LogLevel
from robofleet.server.api.openapi_schemas import without_null
from robofleet.server.domain.permissions import Screen
from robofleet.server.schemas.documented import REF_SCHEMA
from robofleet.server.schemas.queues import TaskItem

_HEX = "[0-9a-fA-F]"
_GUID = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"
ID_OR_GUID: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        {"type": "string", "pattern": f"^([0-9]{{1,18}}|{_GUID}|\\{{{_GUID}\\}}|{_HEX}{{32}})$"},
    ],
    "description": "An id or a GUID (jobs and log lines have no name).",
}
CLIENT_GUID: dict[str, Any] = {
    "type": "string",
    "pattern": f"^({_GUID}|\\{{{_GUID}\\}}|{_HEX}{{32}})?$",
    "description": "The task's GUID, chosen by the client (optional; empty means none).",
}


def _codes(low: int, high: int, what: str) -> dict[str, Any]:
    """A list of small codes, as the filters take it: a list, one number, or `1,3` text."""
    code = {"type": "integer", "minimum": low, "maximum": high}
    digit = f"[{low}-{high}]"
    return {
        "anyOf": [
            {"type": "array", "items": code},
            code,
            {"type": "string", "pattern": f"^({digit}([,;]{digit})*)?$"},
        ],
        "description": f"{what}: a list, one number, or `{low},{high}` text.",
    }


TASK_STATUSES = _codes(0, 6, "Task statuses")
PRIORITIES = _codes(1, 3, "Priorities (1 Low, 2 Normal, 3 High)")
ROBOT_TYPE: dict[str, Any] = {
    "anyOf": [{"enum": ["Attended", "Unattended"]}, {"enum": [0, 1]}],
    "description": "Attended or Unattended (or 0 / 1).",
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

_BASE64_TAIL = "([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
SCREENSHOT: dict[str, Any] = {
    # The base64 of a PNG, JPEG or GIF starts so (WebP and BMP are taken too, undocumented).
    "type": "string",
    "pattern": "^((data:image/(png|jpeg|gif);base64,)?(iVBORw0KGgo[A-Za-z0-9+/]|/9j/|R0lGODdh|"
    f"R0lGODlh){_BASE64_TAIL})?$",
    "description": "An image (PNG, JPEG, GIF, WebP or BMP), base64-encoded; a data: URL too.",
}
LOG_CURSOR: dict[str, Any] = {
    "type": "string",
    "pattern": "^([ad][0-9]{1,18})?$",
    "description": "The `X-Next-Cursor` header of the previous page, as given.",
}
FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "Job": ID_OR_GUID,
    "JobGuid": ID_OR_GUID,
    "Level": LEVEL,
    "MinLevel": LEVEL,
    "Permissions": RIGHTS,
    "Folder": FOLDER,
}
"""Request fields, by name, that accept exactly this (keeping nullable where they were)."""

MODEL_FIELD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("JobRef", "Guid"): ID_OR_GUID,
    ("TaskCreate", "Guid"): CLIENT_GUID,
    ("TaskFilter", "Status"): TASK_STATUSES,
    ("TaskFilter", "Priority"): PRIORITIES,
    ("NamedQueueFilter", "Status"): TASK_STATUSES,
    ("NamedQueueFilter", "Priority"): PRIORITIES,
    ("TakeRequest", "Priority"): PRIORITIES,
    ("RobotCreate", "Type"): ROBOT_TYPE,
    ("RobotUpdate", "Type"): ROBOT_TYPE,
    ("TaskItem", "Guid"): CLIENT_GUID,
    ("JobUpdate", "Guid"): ID_OR_GUID,
    ("ApiKeyAssign", "Key"): {"type": "string", "pattern": f"^{_GUID}$"},
    ("LogLine", "Screenshot"): SCREENSHOT,
    ("LogCreate", "Screenshot"): SCREENSHOT,
    ("LogFilter", "Cursor"): LOG_CURSOR,
}
"""Fields of one model that accept exactly this (keeping nullable where they were)."""

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
        return without_null(schema)
    if field in FIELD_SCHEMAS and name not in PROTOCOL:
        return _keep_null(schema, FIELD_SCHEMAS[field])
    if (name, field) in MODEL_FIELD_SCHEMAS:
        return _keep_null(schema, MODEL_FIELD_SCHEMAS[name, field])
    return schema


def _alternative(fields: list[str]) -> dict[str, Any]:
    """One way to fill a one-or-many body: these fields given, as values (not null)."""
    constraints: dict[str, Any] = {field: {"not": {"type": "null"}} for field in fields}
    for field in NON_BLANK_WHEN_REQUIRED & set(fields):
        constraints[field] = {"type": "string", "pattern": NON_BLANK}
    return {"required": fields, "properties": constraints}


INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
ANY_ID = [INT64, REF_SCHEMA["anyOf"][1]]

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


def refine_fields(components: dict[str, Any], requests: set[str]) -> None:
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
    for model in ("RenewItem", "RenewRequest", "FinishRequest"):
        # In a list, a missing task is that item's result, not an error; beside a list, the
        # one-task fields are not used. So any id passes there, even one naming nothing.
        fields = components.get(model, {}).get("properties", {})
        if "Guid" in fields:
            fields["Guid"] = _keep_null(fields["Guid"], {**REF_SCHEMA, "anyOf": ANY_ID})
    bulk = components.get("BulkCreate", {}).get("properties", {}).get("Tasks")
    if bulk:
        bulk["items"] = {"$ref": "#/components/schemas/TaskItem"}


def refine_parameters(path: str, operation: dict[str, Any]) -> None:
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
