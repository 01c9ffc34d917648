"""Storage tab: folders and files."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from robofleet.server.domain.refs import classify_ref
from robofleet.server.domain.values import INT64_MAX
from robofleet.server.schemas.base import FolderRef, Ref, RowModel, SherpaModel, SherpaTime
from robofleet.server.schemas.sherpa_values import Bit

MAX_SIGNED_SECONDS = 7 * 86400
"""The longest a signed URL lives (7 days, as S3's presigned URLs)."""


def _plain_name(value: Any) -> Any:
    if isinstance(value, str) and "/" in value:
        raise ValueError("must not contain '/': a path 'folder/sub/name' names objects inside")
    return value


Name = Annotated[str, BeforeValidator(_plain_name), Field(min_length=1, max_length=255)]


def _root_or_ref(value: Any) -> Any:
    """Empty text or 0 means the root; anything else is an id, GUID or path."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("must be a folder's id, GUID or path, not a boolean")
    if isinstance(value, int | str) and str(value).strip() in {"", "0"}:
        return ""
    if isinstance(value, int | str):
        ref = classify_ref(value)  # refuses what names nothing (NUL, ids past 64 bits)
        return (
            ref.value
            if ref.kind == "guid"
            else (value.strip() if isinstance(value, str) else value)
        )
    return value


PARENT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0, "maximum": INT64_MAX},
        {"type": "string", "pattern": r"^[^\u0000]*$"},
        {"type": "null"},
    ],
    "description": "A storage folder (id, GUID or path `a/b`); empty or 0 is the root.",
}

ParentRef = Annotated[
    int | str | None,
    BeforeValidator(_root_or_ref),
    WithJsonSchema(PARENT_SCHEMA),
]

# The first spelling is the documented one; requests' keys arrive folded to snake_case.
PARENT = AliasChoices("ParentGuid", "parent_guid", "parent", "parent_id", "parent_folder")
PARENT_FILTER = AliasChoices("Parent", "parent", "parent_guid", "parent_id")
FILE_FOLDER = AliasChoices("FolderGuid", "folder_guid", "folder", "folder_id", "storage_folder")
FOLDER_FILTER = AliasChoices("Folder", "folder", "folder_guid", "folder_id")
ENCODING_DOC = (
    "How `File` is written: base16 (hex), base32, base64 or text (UTF-8). Empty: base16 if "
    "the text is hexadecimal, else base32 if it is base32 (Sherpa's two forms)."
)
Encoding = Literal["base16", "base32", "base64", "text"]


def _encoding(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        return {"hex": "base16", "": None}.get(lowered, lowered)
    return value


class FolderCreate(SherpaModel):
    name: Name = Field(examples=["Invoices"])
    description: str = ""
    parent_guid: ParentRef = Field(None, validation_alias=PARENT)
    folder: FolderRef = None


class FolderUpdate(SherpaModel):
    guid: Ref = Field(description="The folder (id, GUID or path).")
    name: Name | None = None
    description: str | None = None
    parent_guid: ParentRef = Field(
        None, validation_alias=PARENT, description="Move under this folder; empty or 0: root."
    )
    folder: FolderRef = None


class FolderFilter(SherpaModel):
    parent: ParentRef = Field(None, validation_alias=PARENT_FILTER)
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)


class FolderRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    parent_guid: str | None
    path: str = Field(description="Names from the root, `a/b/c`: a reference for any call.")
    folder_id: int | None = Field(description="Access folder.")
    is_deleted: Bit
    created_at: SherpaTime
    updated_at: SherpaTime


class FileFields(SherpaModel):
    description: str | None = None
    folder_guid: ParentRef = Field(None, validation_alias=FILE_FOLDER)
    # Kept as sent: with Encoding text, leading and trailing blanks are content.
    file: Annotated[str, StringConstraints(strip_whitespace=False)] | None = Field(
        None, description="The content as text; see Encoding."
    )
    encoding: Annotated[Encoding | None, BeforeValidator(_encoding)] = Field(
        None, description=ENCODING_DOC
    )
    content_type: str | None = Field(None, max_length=255)


class FileCreate(FileFields):
    name: Name = Field(examples=["report.pdf"])


class FileUpdate(FileFields):
    guid: Ref | None = Field(
        None,
        description=(
            "The file (id, GUID or path). Without it, the file named `Name` in `FolderGuid` "
            "is the one updated."
        ),
    )
    name: Name | None = None


class FileFilter(SherpaModel):
    folder: ParentRef = Field(None, validation_alias=FOLDER_FILTER)
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)


class FileUpload(SherpaModel):
    """Query of the streaming upload: the body is the file's bytes."""

    name: Name
    folder: ParentRef = Field(None, validation_alias=FOLDER_FILTER)
    description: str | None = None


class FileRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    folder_guid: str | None
    path: str
    sha256: str
    size: int
    content_type: str
    url: str = Field(description="Where the content is downloaded (with this API's auth).")
    is_deleted: Bit
    created_at: SherpaTime
    updated_at: SherpaTime


class FileSign(SherpaModel):
    file: Ref = Field(validation_alias=AliasChoices("File", "file", "guid", "file_guid"))
    method: Literal["GET", "PUT"] = Field("GET", description="GET downloads, PUT replaces.")
    expires_in: int = Field(
        3600, ge=1, le=MAX_SIGNED_SECONDS, description="Seconds the URL lives (at most 7 days)."
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class SignedUrl(BaseModel):
    url: str
    method: str
    expires_at: int = Field(description="Unix time after which the URL is refused.")


class SignedQuery(BaseModel):
    """The query a signed URL carries."""

    expires: int = Field(ge=0, le=INT64_MAX)
    signature: str = Field(max_length=128)
