"""The upload limits (read by adapters/settings.py without loading the decoders)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ContentLimits:
    """How big an upload may be, before and after decoding (docs/operations.md, Documents)."""

    max_bytes: int = 10 * MIB  # the file as sent
    max_pixels: int = 40_000_000  # an image's width x height, checked before it is decoded
    max_inflated: int = 64 * MIB  # a PDF's streams, all of them, once inflated
    max_objects: int = 10_000  # a PDF's objects (cross-reference, references, body)
    max_seconds: float = 5.0  # how long one PDF's inspection may take

    def problems(self) -> list[str]:
        """What is wrong with these limits, in the words of their settings."""
        wrong = []
        if not 1024 <= self.max_bytes <= 1024 * MIB:
            wrong.append("MAX_BYTES must be between 1024 and 1073741824")
        if self.max_pixels < 1:
            wrong.append("MAX_PIXELS must be at least 1")
        if self.max_inflated < 1024:
            wrong.append("MAX_INFLATED must be at least 1024")
        if self.max_objects < 10:
            wrong.append("MAX_OBJECTS must be at least 10")
        if not self.max_seconds > 0:
            wrong.append("CHECK_SECONDS must be more than 0")
        return wrong
