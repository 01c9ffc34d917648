"""Processes and their versions (packages)."""
