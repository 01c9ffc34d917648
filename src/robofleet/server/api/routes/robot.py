"""Robot tab: robots, and the protocol robots speak."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import Request

from robofleet.server.api.deps import CallerDep, RobotCallerDep, RuntimeDep
from robofleet.server.api.routing import ModelResponse, sherpa_router
from robofleet.server.schemas.robots import (
    ConsumeRequest,
    ConsumeResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    RobotCreate,
    RobotCreated,
    RobotRead,
    RobotSecret,
    RobotSecretIssue,
    RobotSetStatus,
    RobotStatusRead,
    RobotUpdate,
    WaitJobRequest,
)
from robofleet.server.services.fleet import robots
from robofleet.server.services.jobs import robot_protocol

router = sherpa_router("Robot", prefix="/api/robot")


@router.post("/create", summary="Create a robot")
def create_robot(body: RobotCreate, runtime: RuntimeDep, caller: CallerDep) -> RobotCreated:
    return robots.create_robot(runtime, caller, body)


@router.get("/read/{guid}", summary="Read a robot")
def read_robot(guid: str, runtime: RuntimeDep, caller: CallerDep) -> RobotRead:
    return robots.read_robot(runtime, caller, guid)


@router.get("/read", summary="Read all robots")
def list_robots(runtime: RuntimeDep, caller: CallerDep) -> list[RobotRead]:
    return robots.list_robots(runtime, caller)


@router.put("/update", summary="Update a robot")
def update_robot(body: RobotUpdate, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    robots.update_robot(runtime, caller, body)
    return []


@router.delete("/delete/{guid}", summary="Delete a robot")
def delete_robot(guid: str, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    robots.delete_robot(runtime, caller, guid)
    return []


@router.post("/issueSecret", summary="Issue a new secret for a robot (Robofleet)")
def issue_secret(body: RobotSecretIssue, runtime: RuntimeDep, caller: CallerDep) -> RobotSecret:
    """The secret is shown only in this response and stored hashed; the robot's previous
    secret stops working. Robots send it as `Authorization: Basic base64(<GUID>:<secret>)`."""
    return robots.issue_secret(runtime, caller, body)


@router.get("/getStatus/{guid}", summary="A robot's status")
def get_status(guid: str, runtime: RuntimeDep, caller: CallerDep) -> RobotStatusRead:
    return robots.get_status(runtime, caller, guid)


@router.put("/setStatus", summary="Set a robot's status")
def set_status(body: RobotSetStatus, runtime: RuntimeDep, caller: CallerDep) -> list[Any]:
    robots.set_status(runtime, caller, body)
    return []


@router.post(
    "/heartbeat", summary="Robot heartbeat (robot protocol)", response_model=HeartbeatResponse
)
def heartbeat(body: HeartbeatRequest, runtime: RuntimeDep, caller: RobotCallerDep) -> ModelResponse:
    """Codes: 0 no error, 101 robot GUID not found, 10 abort the job, 20 stop the job.
    `HasNewJob` is 1 when a job waits for this robot."""
    return ModelResponse(robot_protocol.heartbeat(runtime, caller, body))


@router.post(
    "/consumeNextJob", summary="Take the next job (robot protocol)", response_model=ConsumeResponse
)
def consume_next_job(
    body: ConsumeRequest, runtime: RuntimeDep, caller: RobotCallerDep
) -> ModelResponse:
    """Codes: 0 a job is returned, 101 robot GUID not found, 102 no new job. `Job`,
    `ProcessVersion` and `Task` are JSON documents encoded as strings."""
    return ModelResponse(robot_protocol.consume_next_job(runtime, caller, body))


@router.post(
    "/waitJob",
    summary="Wait for the next job without polling (Robofleet)",
    response_model=ConsumeResponse,
)
async def wait_job(
    body: WaitJobRequest, runtime: RuntimeDep, caller: RobotCallerDep, request: Request
) -> ModelResponse:
    """Like consumeNextJob, but waits up to `Timeout` seconds for a job to be created. The
    wait ends when the robot closes the connection (it is stopping): no job is taken then."""
    gone = partial(_client_gone, request)
    return ModelResponse(await robot_protocol.wait_job(runtime, caller, body, client_gone=gone))


async def _client_gone(request: Request) -> None:
    """Returns once the client has closed the connection (its body is already read: the
    server's next message for this request is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
