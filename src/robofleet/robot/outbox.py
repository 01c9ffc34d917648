"""Finished jobs' final reports, kept on disk until the server has them.

A report is written before it is sent and deleted only once the server accepted it or refused
it for good, so a job's outcome survives agent restarts and server outages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from robofleet.robot.client import RobotClient
from robofleet.robot.files import atomic_write_json
from robofleet.robot.protocol import ServerRefused, Unreachable, update_body

log = logging.getLogger(__name__)

# Any other 4xx means the server will never take this report: keeping it would block the agent.
_KEEP_ON = {401, 408, 429}


@dataclass(frozen=True)
class FinalReport:
    job_guid: str
    status: int
    progress: int | None = None
    return_value: Any = None
    message: str | None = None

    def body(self) -> dict[str, Any]:
        return update_body(
            self.job_guid, self.status, self.progress, self.return_value, self.message
        )


class Outbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, job_guid: str) -> Path:
        return self.directory / f"{job_guid}.json"

    def put(self, report: FinalReport) -> None:
        atomic_write_json(self._path(report.job_guid), asdict(report))

    def remove(self, job_guid: str) -> None:
        self._path(job_guid).unlink(missing_ok=True)

    def pending(self) -> list[FinalReport]:
        """Reports not yet delivered, oldest first."""
        if not self.directory.is_dir():
            return []
        reports = []
        paths = sorted(self.directory.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))
        for path in paths:
            try:
                reports.append(FinalReport(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError) as exc:
                log.error("unreadable outbox entry %s set aside: %s", path, exc)
                path.replace(path.with_suffix(".bad"))
        return reports

    def deliver(self, client: RobotClient, *, retry: float | None) -> bool:
        """Send every pending report; True once the outbox is empty."""
        for report in self.pending():
            try:
                client.send_report(report.body(), retry=retry)
            except Unreachable:
                return False
            except ServerRefused as exc:
                if exc.status_code in _KEEP_ON:
                    log.warning("job %s: report not accepted yet: %s", report.job_guid, exc)
                    return False
                log.warning(
                    "job %s: the server refused its report for good: %s", report.job_guid, exc
                )
            else:
                log.info("job %s: reported status %s", report.job_guid, report.status)
            self.remove(report.job_guid)
        return True
