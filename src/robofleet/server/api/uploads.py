"""Reading an upload: multipart (Sherpa's form), or JSON/form with the file in base64."""

from __future__ import annotations

from typing import Any, BinaryIO, TypeVar

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from robofleet.server.domain.errors import MalformedRequest

ModelT = TypeVar("ModelT", bound=BaseModel)


def multipart_doc(
    model: type[BaseModel], file_field: str, *, file_required: bool = True
) -> dict[str, Any]:
    """OpenAPI for an operation that takes multipart with a file, or JSON with base64."""
    schema = model.model_json_schema(by_alias=True)
    properties = dict(schema.get("properties", {}))
    properties[file_field] = {"type": "string", "format": "binary"}
    # In JSON the package is base64 text, and required as in the form.
    json_properties = dict(properties)
    json_properties[file_field] = {
        "type": "string",
        "contentEncoding": "base64",
        "minLength": 1,
        "description": "The package (a .zip), base64-encoded.",
    }
    schema = {
        **schema,
        "properties": json_properties,
        "required": sorted({*schema.get("required", []), file_field}),
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": properties,
                        **({"required": [file_field]} if file_required else {}),
                    }
                },
                "application/json": {"schema": schema},
            },
        }
    }


async def read_upload(
    request: Request, model: type[ModelT], file_field: str
) -> tuple[ModelT, BinaryIO | None, str | None]:
    data, upload = await read_upload_part(request, model)
    return data, (upload.file if upload else None), (upload.filename if upload else None)


async def read_upload_part(
    request: Request, model: type[ModelT]
) -> tuple[ModelT, UploadFile | None]:
    """The fields and the uploaded file part itself (its name and declared content type)."""
    content_type = request.headers.get("content-type", "").lower()
    upload: UploadFile | None = None
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=100)
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                upload = value
            else:
                fields[key] = value
    elif content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    else:
        raw = await request.body()
        try:
            fields = orjson.loads(raw) if raw.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise MalformedRequest(f"the body is not valid JSON ({exc})") from None
        if not isinstance(fields, dict):
            raise MalformedRequest("the body must be a JSON object")
    try:
        data = model.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None
    return data, upload
