"""ASGI entry for `uvicorn robofleet.server.asgi:app` (used for several worker processes)."""

from robofleet.server.app import create_app
from robofleet.server.settings import load_settings

app = create_app(load_settings())
