"""Prometheus metrics (docs/metrics.md); not a Sherpa operation."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from robofleet.server.api.deps import RuntimeDep
from robofleet.server.runtime.metrics.exposition import CONTENT_TYPE, check_token

router = APIRouter(tags=["Monitoring"])

EXAMPLE = """# HELP robofleet_tasks Tasks by account, queue and status.
# TYPE robofleet_tasks gauge
robofleet_tasks{account="default",queue="Invoices",status="Success"} 42.0
"""


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description=(
        "Every metric of this server in Prometheus's text format (docs/metrics.md). Open "
        "unless the server sets ROBOFLEET_METRICS_TOKEN; then send "
        "`Authorization: Bearer <token>`."
    ),
    response_class=Response,
    responses={
        200: {
            "description": "The metrics.",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": EXAMPLE}},
        },
        401: {
            "description": "A metrics token is set and the request did not send it.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        },
    },
)
def metrics(runtime: RuntimeDep, request: Request) -> Response:
    assert runtime.metrics is not None  # the route is served only with metrics on
    check_token(runtime.settings.metrics_token, request.headers.get("authorization"))
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)
