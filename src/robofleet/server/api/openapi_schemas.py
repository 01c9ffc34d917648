"""Generic rewrites of the OpenAPI document's request schemas so they say what the server
accepts: forms and queries without nulls (and with times as text), optional times that may be
empty, and every request value held to the storable rule (no NUL byte, 64-bit whole numbers)."""

from __future__ import annotations

from typing import Any

from robofleet.server.api.routing import FORM


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return resolve(components.get(ref.rsplit("/", 1)[-1], {}), components)
    return schema


def without_null(schema: dict[str, Any]) -> dict[str, Any]:
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
    schema = resolve(schema, components)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return all(_is_flat(option, components) for option in options)
    kind = schema.get("type")
    if kind == "array":
        return (
            _is_flat(schema.get("items", {}), components)
            and resolve(schema.get("items", {}), components).get("type") != "array"
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
    resolved = resolve(schema, components)
    required = set(resolved.get("required", []))
    properties: dict[str, Any] = {}
    for name, prop in resolved.get("properties", {}).items():
        if prop == {} or resolve(prop, components) == {}:
            properties[name] = {"type": "string", "description": prop.get("description", "")}
            continue
        flat = as_text(without_null(prop))
        if not _is_flat(flat, components):
            if name in required:
                return None
            continue
        if flat.get("type") == "array" and name not in required:
            flat = {"anyOf": [flat, _list_as_text(flat)]}
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
        only = alternatives[0]
        form["required"] = sorted(required | set(only["required"]))
        for name, rule in only.get("properties", {}).items():
            if "not" not in rule:  # `not null` says nothing of a form, which has no null
                properties[name] = {**properties[name], **rule}
    elif alternatives:
        form["anyOf"] = alternatives
    return form


def _list_as_text(array: dict[str, Any]) -> dict[str, Any]:
    """A list as one form field's text: `Groups=` sends none; `Status=1,3` a list of small
    numbers (queues.numbers), which a form cannot tell from the number 1,3's own text."""
    items = array.get("items", {})
    low, high = items.get("minimum"), items.get("maximum")
    one_digit = low is not None and high is not None and 0 <= low <= high <= 9
    if items.get("type") == "integer" and one_digit:
        digit = f"[{int(low)}-{int(high)}]"
        return {"type": "string", "pattern": f"^({digit}([,;]{digit})*)?$"}
    return {"type": "string", "maxLength": 0}


def add_form(body: dict[str, Any], components: dict[str, Any]) -> None:
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


def body_optional_when_nothing_is_required(
    body: dict[str, Any], components: dict[str, Any]
) -> None:
    """An empty body is read as `{}` (api.routing), so a body without a required field may be
    left out."""
    for media in body.get("content", {}).values():
        schema = resolve(media.get("schema", {}), components)
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
            # Digits as text: a form or a query carries no types, so "0" is this branch. Eleven
            # digits stay inside the range the server keeps (to 9999-12-31).
            {"type": "string", "pattern": "^[0-9]{1,11}$"} if b.get("type") == "number" else b
            for b in schema.get("anyOf", [])
        ]
        return {**schema, "anyOf": branches}
    if isinstance(schema.get("anyOf"), list):
        return {**schema, "anyOf": [as_text(option) for option in schema["anyOf"]]}
    return schema


def time_fields(components: dict[str, Any]) -> None:
    for component in components.values():
        required = set(component.get("required", []))
        properties = component.get("properties", {})
        for name, prop in properties.items():
            properties[name] = _time_field(prop, required=name in required)


def query_without_null(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "query" and "schema" in parameter:
            schema = _time_field(parameter["schema"], required=bool(parameter.get("required")))
            parameter["schema"] = as_text(without_null(schema))


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


def request_components(document: dict[str, Any], components: dict[str, Any]) -> set[str]:
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


def storable_requests(document: dict[str, Any], components: dict[str, Any]) -> None:
    for name in request_components(document, components):
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
