"""Processes and process versions."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator

from robofleet.server.schemas.base import Flag, FolderRef, Ref, RowModel, SherpaModel, SherpaTime


class ProcessCreate(SherpaModel):
    name: str = Field(min_length=1, max_length=512, examples=["Invoices"])
    description: str = ""
    min_version_to_run: str = Field("", max_length=32)
    process_type: int = Field(0, ge=0, le=1, description="0 Process, 1 Package.")
    available_in_assistant: Flag = False
    folder: FolderRef = None


class ProcessUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=512)
    description: str | None = None
    min_version_to_run: str | None = Field(None, max_length=32)
    process_type: int | None = Field(None, ge=0, le=1)
    available_in_assistant: Flag | None = None
    folder: FolderRef = None
    current_version: Ref | None = Field(None, description="Make this version current.")


class ProcessRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    min_version_to_run: str
    process_type: int
    available_in_assistant: bool
    folder_id: int | None
    process_version_id: int | None
    process_version_guid: str | None
    is_deleted: bool
    created_at: SherpaTime
    updated_at: SherpaTime


class ProcessVersionCreate(SherpaModel):
    """The fields of an upload; the file itself is the multipart part `ProcessFile`, or
    base64 text in `ProcessFile` of a JSON body (with `FileName`)."""

    process: Ref = Field(
        validation_alias=AliasChoices("ProcessGuid", "process_guid", "process", "process_id"),
        examples=["Invoices"],
    )
    name: str | None = Field(None, max_length=512, description="Default: '<process> <time>'.")
    description: str = ""
    file_name: str | None = Field(None, max_length=512)
    process_file: str | None = Field(None, description="Base64 of the file (JSON bodies only).")
    make_current: Flag = Field(False, description="Make the new version current at once.")


class ProcessVersionUpdate(SherpaModel):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=512)
    description: str | None = None
    process_file: str | None = None

    @model_validator(mode="after")
    def _no_new_file(self) -> ProcessVersionUpdate:
        if self.process_file is not None:
            raise ValueError(
                "ProcessFile: a version's package cannot change; upload a new "
                "version with /api/processVersion/create"
            )
        return self


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
    is_current: bool
    is_deleted: bool
    created_at: SherpaTime
    updated_at: SherpaTime
