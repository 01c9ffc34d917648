"""Robofleet: a self-hosted orchestrator for software robots."""

__version__ = "0.1.0"
