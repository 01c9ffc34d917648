"""Roboteasy integration API shapes, kept byte-for-byte to its documentation."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from robofleet.server.schemas.base import StorableModel


class RoboteasyLogin(BaseModel):
    """Any JSON object is a login attempt: a missing, empty or unreadable field (a NUL byte
    included) is a failed login (401), as on Roboteasy, not a validation error; unknown keys
    are ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"username": "ann@example.com", "password": "Y29ycmVjdCBob3JzZQ=="}]
        },
    )

    username: str = ""
    password: str = Field("", description="The password, base64-encoded.")

    def readable(self) -> bool:
        """Whether the username could name a user (no store keeps a NUL byte)."""
        return "\x00" not in self.username

    def decoded_password(self) -> str | None:
        """The password, or None when it is not base64 of UTF-8 text."""
        try:
            return base64.b64decode(self.password.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None


class RoboteasyToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class RoboteasyVariable(StorableModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=256)
    type: str = "text"
    value: Any = None


class RoboteasyRun(StorableModel):
    """`variables` become the job's parameters (`name` -> `value`, typed by `type`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "variables": [
                        {"name": "CNPJ", "type": "text", "value": "12.345.678/0001-90"},
                        {"name": "IE", "type": "text", "value": "123456"},
                    ]
                }
            ]
        },
    )

    variables: list[RoboteasyVariable] = Field(default_factory=list)

    @field_validator("variables", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        # The v2 page's sample sends a single object where a list is meant.
        return [value] if isinstance(value, dict) else value

    @field_validator("variables")
    @classmethod
    def _typed_values(cls, value: list[RoboteasyVariable]) -> list[RoboteasyVariable]:
        for variable in value:  # a value its type cannot read is refused here, named
            _typed(variable.type, variable.value)
        return value

    def parameters(self) -> dict[str, Any]:
        return {v.name: _typed(v.type, v.value) for v in self.variables}

    @classmethod
    def from_query(cls, pairs: list[tuple[str, str]]) -> RoboteasyRun:
        """`GET run?CNPJ=1&IE=2`: each query parameter is a text variable; of a repeated
        name the first counts, as in a Spring `@RequestParam Map`."""
        first: dict[str, str] = {}
        for name, value in pairs:
            if name:
                first.setdefault(name, value)
        return cls(variables=[RoboteasyVariable(name=n, value=v) for n, v in first.items()])


def _typed(kind: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    kind = kind.strip().lower()
    try:
        if kind in {"number", "numeric", "int", "integer"}:
            return int(value) if value.strip().lstrip("-").isdigit() else float(value)
        if kind in {"bool", "boolean"}:
            return value.strip().lower() in {"1", "true", "yes", "sim"}
    except ValueError:
        raise ValueError(f"variable value {value!r} is not a {kind}") from None
    return value


class RoboteasyRunV2(BaseModel):
    id: str


class RoboteasyLog(BaseModel):
    timestamp: int
    level: str
    message: str


class RoboteasyResult(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    id: str = Field(serialization_alias="_id")
    logs: list[RoboteasyLog]
    init: int | None
    end: int | None
    return_value: Any = Field(serialization_alias="returnValue")
    status: str
    progress: float
