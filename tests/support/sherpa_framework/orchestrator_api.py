"""What a Sherpa framework script calls while it runs (the framework's TaskOrchestratorAPI
helper and raw calls, spec section 27): add a task, get a queue's next task by status, update
a task's status, read and update an asset, write a log line. Form-encoded snake_case bodies and
`Authorization: Basic base64(robot GUID)`, with the framework's defaults: task name
"NewTask", parameters `{"": ""}`, status filter 0, log level Info."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from framework import Settings, basic_auth


class TaskOrchestratorAPI:
    def __init__(self, argument: str) -> None:
        """`argument` is the one the framework starts the script with:
        `process_version_guid|job_guid|default_task_guid|settings_path`."""
        version, job, task, settings_path = argument.split("|", 3)
        settings = Settings.read(Path(settings_path))
        self.robot_guid = settings.robot_guid
        self.process_version_guid = version
        self.job_guid = job
        self.default_task_guid = task
        self.http = httpx.Client(
            base_url=settings.url, headers=basic_auth(settings.robot_guid), timeout=60
        )

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise RuntimeError(
                f"{response.request.method} {response.request.url}: "
                f"{response.status_code} {response.text}"
            )
        return response.json()

    def read_task(self, guid: str) -> dict[str, Any]:
        task: dict[str, Any] = self._ok(self.http.get(f"/api/task/read/{guid}"))
        return task

    def add_task(self, queue_guid: str, name: str = "NewTask", parameters: str = '{"": ""}') -> str:
        body = {"queue_guid": queue_guid, "name": name, "parameters": parameters}
        return str(self._ok(self.http.post("/api/task/create", data=body))["guid"])

    def get_last_task(self, queue_guid: str, status: int = 0) -> dict[str, Any] | None:
        """The queue's next task with that status, or None when there is none."""
        response = self.http.get(f"/api/queue/lastTask/{queue_guid}", params={"status": status})
        if response.status_code == 404 or not response.content.strip():
            return None
        task: dict[str, Any] = self._ok(response)
        return task or None

    def update_task(self, guid: str, status: int) -> None:
        self._ok(self.http.put("/api/task/update", data={"guid": guid, "status": str(status)}))

    def read_asset(self, guid_or_name: str) -> dict[str, Any]:
        asset: dict[str, Any] = self._ok(self.http.get(f"/api/asset/read/{guid_or_name}"))
        return asset

    def update_asset(self, guid: str, name: str, text: str = "", password: str = "") -> None:
        body = {"guid": guid, "name": name, "text": text, "password": password}
        self._ok(self.http.put("/api/asset/update", data=body))

    def log(self, message: str, level: str = "Info") -> str | None:
        body = {
            "robot_guid": self.robot_guid,
            "process_version_guid": self.process_version_guid,
            "job_guid": self.job_guid,
            "level": level,
            "message": message,
        }
        answer = self._ok(self.http.post("/api/log/create", data=body))
        return answer.get("guid") if isinstance(answer, dict) else None


def parameters_of(task: dict[str, Any]) -> dict[str, Any]:
    """A task's parameters: an object, or the JSON string Sherpa's rows carry."""
    value = task.get("parameters") or {}
    return dict(json.loads(value) if isinstance(value, str) else value)
