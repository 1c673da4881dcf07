"""How a job step failed: permanently (the input) or for now (the infrastructure)."""

from __future__ import annotations


class StageError(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message


class PermanentError(StageError):
    """The input cannot be processed (corrupt, empty, unsupported): retrying will not help."""


class TransientError(StageError):
    """Storage, database or a tool failed in a way a later attempt may not."""
