"""Ids as every database holds them (signed 64 bits): a larger one in a path, a query or a
body is a 422, never a database error."""

from __future__ import annotations

from typing import Annotated

import annotated_types

MAX_ID = 2**63 - 1

# One type for path and query parameters and body fields alike (``list[Id]`` too).
Id = Annotated[int, annotated_types.Ge(1), annotated_types.Le(MAX_ID)]
# A count of bytes (quotas): what a BIGINT column holds.
Bytes = Annotated[int, annotated_types.Ge(0), annotated_types.Le(MAX_ID)]
# An id of a 32-bit INTEGER column (levels): PostgreSQL refuses to compare one with more.
Id32 = Annotated[int, annotated_types.Ge(1), annotated_types.Le(2**31 - 1)]
