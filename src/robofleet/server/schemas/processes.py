"""Processes and process versions."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from robofleet.server.schemas.base import Flag, FolderRef, Ref, RowModel, SherpaModel, SherpaTime
from robofleet.server.schemas.sherpa_values import Bit, NumberOrText

PROCESS_REF = AliasChoices("ProcessGuid", "process_guid", "process", "process_id")


class ProcessCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=512, examples=["Invoices"])
    description: str = ""
    min_version_to_run: NumberOrText = Field(
        "",
        max_length=32,
        description="Sherpa's minimum runtime version, text or a number (1.05). Set, it "
        "pins the current version: a later upload does not replace it.",
        examples=["1.05"],
    )
    process_type: int = Field(0, ge=0, le=1, description="0 Process, 1 Package.")
    available_in_assistant: Flag = False
    folder: FolderRef = None


class ProcessUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=512)
    description: str | None = None
    min_version_to_run: NumberOrText | None = Field(None, max_length=32)
    process_type: int | None = Field(None, ge=0, le=1)
    available_in_assistant: Flag | None = None
    folder: FolderRef = None
    current_version: Ref | None = Field(
        None, description="Make this version current and pin it (later uploads do not run)."
    )
    version_pinned: Flag | None = Field(
        None, description="0: later uploads become current again; 1: keep the current one."
    )


class ProcessRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    min_version_to_run: str
    process_type: int
    available_in_assistant: Bit
    folder_id: int | None
    process_version_id: int | None
    process_version_guid: str | None
    version_pinned: Bit
    is_deleted: Bit
    created: SherpaTime
    updated: SherpaTime
    created_at: SherpaTime
    updated_at: SherpaTime


class ProcessVersionCreate(SherpaModel):
    """The fields of an upload; the file itself is the multipart part `ProcessFile`, or
    base64 text in `ProcessFile` of a JSON body (with `FileName`)."""

    process: Ref = Field(validation_alias=PROCESS_REF, examples=["Invoices"])
    name: str | None = Field(None, max_length=512, description="Default: '<process> <time>'.")
    description: str = ""
    file_name: str | None = Field(None, max_length=512)
    process_file: str | None = Field(None, description="Base64 of the file (JSON bodies only).")
    make_current: Flag | None = Field(
        None,
        description="1: current at once; 0: not current. Omitted: current unless the "
        "process pins its version (docs/decisions.md).",
    )


class ProcessVersionUpdate(SherpaModel):
    """The fields of an update; a new package is the multipart part `ProcessFile`, or base64
    text in `ProcessFile` of a JSON body (with `FileName`)."""

    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=512)
    description: str | None = None
    process: Ref | None = Field(
        None,
        validation_alias=PROCESS_REF,
        description="The version's own process (another process is refused).",
    )
    file_name: str | None = Field(None, max_length=512)
    process_file: str | None = Field(None, description="Base64 of the file (JSON bodies only).")


class MakeCurrent(SherpaModel):
    guid: Ref


class ProcessVersionRead(RowModel):
    id: int
    guid: str
    account_id: int
    process_id: int
    process_guid: str
    name: str
    description: str
    process_file_name: str
    sha256: str
    size: int
    kind: str
    entry_point: str
    requirements: str
    is_current: Bit
    is_deleted: Bit
    created: SherpaTime
    updated: SherpaTime
    created_at: SherpaTime
    updated_at: SherpaTime
