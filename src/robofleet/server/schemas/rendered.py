"""An answer already rendered to its JSON body, for the hot paths that render it themselves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RenderedJson:
    """A JSON body the front sends as it is: the bytes the answer's model would render
    (each renderer is tested against its model's serialiser)."""

    body: bytes
