"""Queues and tasks."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    Field,
    field_validator,
    model_validator,
)

from robofleet.contract import TaskStatus
from robofleet.server.domain.refs import guid_of, is_guid, lease_key
from robofleet.server.domain.tasks import FINISHES
from robofleet.server.domain.values import INT64_MAX, storable_problem
from robofleet.server.schemas.base import (
    Flag,
    FolderRef,
    InputTime,
    JsonObject,
    LenientJson,
    Ref,
    RowModel,
    SherpaModel,
    SherpaTime,
    priority_value,
    snake_key,
)
from robofleet.server.schemas.sherpa_values import Bit, NumberOrText


def _tags(value: Any) -> Any:
    if isinstance(value, list):
        if not all(isinstance(tag, str) for tag in value):
            raise ValueError("tags must be text, as a list of strings or one `a;b` string")
        return ";".join(value)
    return value


Priority = Annotated[int, Field(ge=1, le=3)]
"""1 Low, 2 Normal, 3 High."""

MAX_MINUTES = 10 * 366 * 24 * 60
"""The longest duration in minutes a queue keeps (10 years): a longer one means "never",
which is leaving the field empty, and would overflow the scheduler's time arithmetic."""

QUEUE_REF = AliasChoices("Queue", "queue", "queue_guid", "queue_id", "queue_name")
POSTPONED = AliasChoices("PostponedUntil", "postponed_until", "postponed")
"""Designer's "Postpone until"; `postponed` is the key Sherpa's task rows show."""


class QueueSettings(SherpaModel):
    description: str | None = None
    unique_tasks: Flag | None = Field(None, description="Refuse tasks with a duplicate name.")
    auto_change_status: Flag | None = Field(
        None, description="A task In Progress fails when its job ends Failed/Stopped/Aborted."
    )
    abandon_new_minutes: float | None = Field(
        None,
        gt=0,
        le=MAX_MINUTES,
        description="New longer than this many minutes: Abandoned (at most 10 years).",
    )
    abandon_in_progress_minutes: float | None = Field(
        None,
        gt=0,
        le=MAX_MINUTES,
        description="In Progress longer than this many minutes: Abandoned (at most 10 years).",
    )
    retry_application: Flag | None = Field(None, description="Retry Failed (Application).")
    retry_business: Flag | None = Field(None, description="Retry Failed (Business).")
    retry_abandoned: Flag | None = Field(None, description="Retry Abandoned.")
    max_retries: int | None = Field(None, ge=0, le=100, description="Retries after the first try.")
    retry_delay_seconds: int | None = Field(None, ge=0, le=30 * 86400)
    lease_seconds: int | None = Field(
        None, ge=5, le=86400, description="How long a take holds a task unrenewed."
    )
    folder: FolderRef = None


class QueueCreate(QueueSettings):
    name: str = Field(min_length=1, max_length=128, examples=["Invoices"])


class QueueUpdate(QueueSettings):
    guid: Ref
    name: str | None = Field(None, min_length=1, max_length=128)


class QueueRead(RowModel):
    id: int
    guid: str
    account_id: int
    name: str
    description: str
    unique_tasks: Bit
    auto_change_status: Bit
    abandon_new_minutes: float | None
    abandon_in_progress_minutes: float | None
    retry_application: Bit
    retry_business: Bit
    retry_abandoned: Bit
    max_retries: int
    retry_delay_seconds: int
    lease_seconds: int
    folder_id: int | None
    created_at: SherpaTime
    updated_at: SherpaTime


class QueueWithCounts(QueueRead):
    counts: dict[str, int] = Field(description="Tasks per status name.")


class TaskFields(SherpaModel):
    description: str = ""
    comment: str = ""
    parameters: JsonObject = Field(default_factory=dict, examples=[{"invoice": "INV-42"}])
    priority: int = Field(2, ge=1, le=3, description="1 Low, 2 Normal, 3 High.")
    tags: str = Field("", description="`;`-separated tags.", examples=["urgent;eu"])
    deadline: InputTime = None
    postponed_until: InputTime = Field(
        None, validation_alias=POSTPONED, description="Postponed until this time."
    )
    retries: int = Field(0, ge=0, le=1000)

    _priority = field_validator("priority", mode="before")(priority_value)
    _tags = field_validator("tags", mode="before")(_tags)


def _client_guid(value: Any) -> Any:
    """The client's own GUID for a task, in the canonical lower-case form; empty (a form's
    blank field) means none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not is_guid(value.strip()):
        raise ValueError("must be a GUID such as 3f2b8c1e-6d0a-4c55-9a4e-2f1d7c9b8e10")
    return str(uuid.UUID(value.strip()))


CLIENT_GUID_HELP = (
    "The task's GUID, chosen by the client (optional): adding it again with the same "
    "request answers with the task already added and adds none; with another request, 409."
)


class TaskCreate(TaskFields):
    queue: Ref = Field(validation_alias=QUEUE_REF, examples=["Invoices"])
    name: NumberOrText = Field(min_length=1, max_length=512, examples=["INV-42"])
    guid: str | None = Field(None, description=CLIENT_GUID_HELP)

    _guid = field_validator("guid", mode="before")(_client_guid)


class TaskItem(TaskFields):
    """One task of a bulk add (the queue is given once for all)."""

    name: NumberOrText = Field(min_length=1, max_length=512)
    guid: str | None = Field(None, description=CLIENT_GUID_HELP)

    _guid = field_validator("guid", mode="before")(_client_guid)


class BulkCreate(SherpaModel):
    queue: Ref = Field(validation_alias=QUEUE_REF)
    tasks: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    mode: Literal["all_or_nothing", "each"] = Field(
        "all_or_nothing",
        description="all_or_nothing: any bad task refuses all; each: good ones are added.",
    )


class BulkFailure(BaseModel):
    index: int
    name: str | None
    code: str
    message: str


class BulkCreated(BaseModel):
    created: int = Field(
        description="Tasks this call stands for: added now, or by an earlier attempt with "
        "the same Idempotency-Key or task GUIDs (see `existing`)."
    )
    guids: list[str] = Field(description="Their GUIDs, in the order of `Tasks`.")
    failed: list[BulkFailure]
    existing: int = Field(
        0, description="How many of them an earlier attempt of this add had already added."
    )


class TaskUpdate(SherpaModel):
    guid: Ref = Field(description="Task GUID or name.")
    name: NumberOrText | None = Field(None, min_length=1, max_length=512)
    queue: Ref | None = Field(None, validation_alias=QUEUE_REF)
    description: str | None = None
    comment: str | None = None
    parameters: JsonObject | None = None
    priority: int | None = Field(None, ge=1, le=3)
    tags: str | None = None
    deadline: InputTime = None
    postponed_until: InputTime = Field(None, validation_alias=POSTPONED)
    retries: int | None = Field(None, ge=0, le=1000)
    status: int | None = Field(None, ge=min(TaskStatus), le=max(TaskStatus))
    lease_id: str | None = None
    output: LenientJson = None
    job: Ref | None = Field(None, validation_alias=AliasChoices("Job", "job", "job_guid"))

    _priority = field_validator("priority", mode="before")(priority_value)
    _tags = field_validator("tags", mode="before")(_tags)


class TagChange(SherpaModel):
    task_guid: Ref = Field(validation_alias=AliasChoices("TaskGuid", "task_guid", "guid", "task"))
    tag_names: str = Field(description="`a;b;`; `*` removes every tag.")

    _tags = field_validator("tag_names", mode="before")(_tags)


def numbers(value: Any) -> Any:
    """`1,3`, `1;3`, repeated query keys, names (`High`) or a JSON list; null is none."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError("must be numbers, not a boolean (true/false)")
        if isinstance(item, str):
            out.extend(
                priority_value(p.strip()) for p in item.replace(";", ",").split(",") if p.strip()
            )
        else:
            out.append(item)
    return out


class TaskFilter(SherpaModel):
    """Filters of take, filter/read and filter/list (also the `{filters}` path syntax)."""

    status: list[Annotated[int, Field(ge=min(TaskStatus), le=max(TaskStatus))]] | None = None
    priority: list[Priority] | None = None
    tags: str | None = Field(None, description="`+a;-b`: must have a, must not have b.")
    name: NumberOrText | None = Field(
        None,
        description="Task name, wildcards: `*` any run, `?` one character. In filter/list, "
        "the queue's own GUID or name (Sherpa's documented body) filters nothing.",
    )
    created_after: InputTime = None
    offset: int = Field(0, ge=0, le=INT64_MAX)
    count: int = Field(100, ge=1, le=1000)
    take: Flag = Field(False, description="filter/read only: take the task (with a lease).")

    _numbers = field_validator("status", "priority", mode="before")(numbers)


class LastTaskFilter(SherpaModel):
    """lastTask's status filter. Sherpa's framework asks for the next task of a status, New
    (0) when it names none; in the query (`?status=3`) or, as its `requests` examples send
    every call's fields, in a form or JSON body of the GET."""

    status: list[Annotated[int, Field(ge=min(TaskStatus), le=max(TaskStatus))]] | None = Field(
        None,
        description="Task status(es), e.g. `0` or `3,4`; default 0 (New, in take order). "
        "Another status answers the oldest task in it.",
    )

    _numbers = field_validator("status", mode="before")(numbers)


class NamedQueueFilter(TaskFilter):
    """Sherpa's documented task/filter/list body: `Name` names the queue (GUID or name)."""

    name: NumberOrText = Field(
        min_length=1, max_length=512, description="The queue's GUID or name.", examples=["Invoices"]
    )


class TakeRequest(SherpaModel):
    queue: Ref = Field(validation_alias=QUEUE_REF, examples=["Invoices"])
    count: int = Field(1, ge=1, le=1000)
    lease_seconds: int | None = Field(None, ge=5, le=86400)
    tags: str | None = None
    name: str | None = None
    priority: list[Priority] | None = None
    created_after: InputTime = None
    job: Ref | None = Field(
        None,
        validation_alias=AliasChoices("Job", "job", "job_guid"),
        description="The job processing the tasks (robots: their own).",
    )

    _priority = field_validator("priority", mode="before")(numbers)

    @property
    def filtered(self) -> bool:
        """Whether the take narrows the queue (tags, name, priority, age)."""
        return any((self.tags, self.name, self.priority, self.created_after))


class TaskError(SherpaModel):
    type: str = Field("", max_length=64)
    message: str = Field("", max_length=100_000)
    details: str = Field("", max_length=1_000_000)


def _lease_id(raw: str) -> str:
    # Held to the rule every field is (StorableModel's) before it is read as a lease: that
    # check runs after this one, and would no longer see what the reading drops.
    problem = storable_problem(raw)
    if problem:
        raise ValueError(problem)
    return lease_key(raw)


LeaseId = Annotated[str, AfterValidator(_lease_id)]
"""A lease a robot names, read as the stores compare it (domain.refs.lease_key)."""


class FinishItem(SherpaModel):
    guid: Ref
    lease_id: LeaseId = Field(min_length=1)
    status: int = Field(
        ge=min(FINISHES),
        le=max(FINISHES),
        description=", ".join(f"{int(s)} {s.label}" for s in sorted(FINISHES)) + ".",
    )
    output: LenientJson = None
    error: TaskError | None = None
    postponed_until: InputTime = None

    @model_validator(mode="after")
    def _postpone_needs_time(self) -> FinishItem:
        if self.status == TaskStatus.POSTPONED and self.postponed_until is None:
            postponed = TaskStatus.POSTPONED
            raise ValueError(
                f"PostponedUntil is required with Status {int(postponed)} ({postponed.label})"
            )
        return self


class PlainFinish(NamedTuple):
    """A finish a batch groups with others of its status and lease into one statement, its
    GUID and lease as the services compare them."""

    guid: str
    """In its canonical form (lower case), as FinishItem holds it."""
    lease_id: str
    """As domain.refs.lease_key reads it."""
    status: int


_PLAIN_FINISH_FIELDS = frozenset({"guid", "lease_id", "status"})
_PLAIN_STATUSES = frozenset(int(status) for status in FINISHES - {TaskStatus.POSTPONED})


def plain_finish(raw: Any) -> PlainFinish | None:
    """A batch item that gives a task's GUID, its lease and a finishing status alone (what
    robots send), read without the model: a batch of 50 validated item by item was a tenth
    of the server's CPU in a batched drain. None for anything else, which FinishItem then
    validates; what this accepts FinishItem accepts too, and reads alike
    (tests/unit/test_plain_finish.py)."""
    if not isinstance(raw, dict) or len(raw) != len(_PLAIN_FINISH_FIELDS):
        return None
    fields = {snake_key(key): value for key, value in raw.items() if isinstance(key, str)}
    if fields.keys() != _PLAIN_FINISH_FIELDS:  # another field, or one given twice
        return None
    guid, lease_id, status = fields["guid"], fields["lease_id"], fields["status"]
    if type(guid) is not str or type(lease_id) is not str or type(status) is not int:
        return None  # a number as text, or a flag: the model's lax reading decides
    if status not in _PLAIN_STATUSES or not lease_id.strip() or "\x00" in lease_id:
        return None
    canonical = guid_of(guid)
    return None if canonical is None else PlainFinish(canonical, lease_key(lease_id), status)


class FinishRequest(SherpaModel):
    """One task (the fields of FinishItem) or many (`Items`)."""

    guid: Ref | None = None
    lease_id: str | None = None
    status: int | None = Field(None, ge=min(FINISHES), le=max(FINISHES))
    output: LenientJson = None
    error: TaskError | None = None
    postponed_until: InputTime = None
    items: list[dict[str, Any]] | None = Field(None, max_length=1000)

    def all_items(self) -> list[dict[str, Any]] | None:
        if self.items is not None:
            return self.items
        return None

    def one_item(self) -> FinishItem:
        """The one task a request without `Items` finishes, validated as an item of a batch
        is (raises pydantic's ValidationError)."""
        return FinishItem.model_validate(self.model_dump(exclude={"items"}, exclude_unset=True))


class RenewItem(SherpaModel):
    guid: Ref
    lease_id: LeaseId
    lease_seconds: int | None = Field(None, ge=5, le=86400)


class RenewRequest(SherpaModel):
    """One task (Guid and LeaseId) or many (`Items`)."""

    guid: Ref | None = None
    lease_id: str | None = None
    lease_seconds: int | None = Field(None, ge=5, le=86400)
    items: list[RenewItem] | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _one_or_many(self) -> RenewRequest:
        if self.items is None and (self.guid is None or not self.lease_id):
            raise ValueError("send Guid and LeaseId (one task) or Items (many)")
        return self


class TaskRead(RowModel):
    id: int
    guid: str
    account_id: int
    queue_id: int
    queue_guid: str
    name: str
    description: str
    comment: str
    parameters: dict[str, Any]
    output: Any
    error: dict[str, str] | None
    priority: int
    tags: str
    status: int
    status_name: str
    postponed: SherpaTime
    deadline: SherpaTime
    job_id: int | None
    job_guid: str | None
    retries: int
    parent_task: str | None
    lease_id: str | None = None
    lease_expires_at: SherpaTime = None
    created: SherpaTime
    started: SherpaTime
    updated: SherpaTime
    finished: SherpaTime
    is_deleted: Bit


class TaskList(BaseModel):
    tasks: list[TaskRead]


class ItemResult(BaseModel):
    guid: str
    ok: bool
    code: str = ""
    message: str = ""
    task: TaskRead | None = None


class ItemResults(BaseModel):
    results: list[ItemResult]


class TaskEvent(BaseModel):
    from_status: int | None
    to_status: int
    from_name: str | None
    to_name: str
    actor: str
    reason: str
    at: SherpaTime
