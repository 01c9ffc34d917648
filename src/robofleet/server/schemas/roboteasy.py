"""Roboteasy integration API shapes, kept byte-for-byte to its documentation."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RoboteasyLogin(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"username": "ann@example.com", "password": "Y29ycmVjdCBob3JzZQ=="}]
        },
    )

    username: str = Field(min_length=1, max_length=256)
    password: str = Field(description="The password, base64-encoded.")

    @field_validator("password")
    @classmethod
    def _decode(cls, value: str) -> str:
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValueError("must be the password encoded in base64") from None


class RoboteasyToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
