"""Robots and robot groups."""
