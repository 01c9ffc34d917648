"""API Key tab."""

from __future__ import annotations

from robofleet.server.api.deps import CallerDep, RuntimeDep
from robofleet.server.api.routing import sherpa_router
from robofleet.server.schemas.identity import ApiKeyAssign, ApiKeyIssued, ApiKeyRead, ApiKeyRefresh
from robofleet.server.services.access import api_keys

router = sherpa_router("API Key", prefix="/api/apiKey")


@router.get("/read", summary="The current keys (never the keys themselves)")
def read_keys(runtime: RuntimeDep, caller: CallerDep) -> list[ApiKeyRead]:
    return api_keys.read_keys(runtime, caller)


@router.api_route("/assign", methods=["POST", "PUT"], summary="Assign a new key")
def assign_key(body: ApiKeyAssign, runtime: RuntimeDep, caller: CallerDep) -> ApiKeyIssued:
    """Issue a new key for the account (or for a user) and revoke the current one at once.
    `Key` may supply the new key's value, for example to keep a key from another server."""
    return api_keys.assign_key(runtime, caller, body)


@router.api_route("/refresh", methods=["POST", "PUT"], summary="Refresh the current key")
def refresh_key(body: ApiKeyRefresh, runtime: RuntimeDep, caller: CallerDep) -> ApiKeyIssued:
    """Replace the current key with a new random one; the old key stops working at once."""
    return api_keys.refresh_key(runtime, caller, body)
