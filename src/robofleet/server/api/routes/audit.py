"""The audit trail, for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.base import Page
from robofleet.server.schemas.identity import AuditFilter, AuditRead
from robofleet.server.services.access import audit_log

router = sherpa_router("Audit", prefix="/api/audit")


@router.get("/list", summary="List audit entries, newest first")
def list_audit(
    query: Annotated[AuditFilter, Query()], runtime: RuntimeDep, caller: CallerDep
) -> Page[AuditRead]:
    return audit_log.list_audit(runtime, caller, query)
