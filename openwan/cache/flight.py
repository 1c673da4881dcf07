"""One load per missing cache entry, however many requests miss it at once.

When an entry expires under load, every request in flight misses it together; each would
run the same query in the threadpool, and the burst stalls the event loop for all of them.
Requests that miss the same entry while it is being loaded wait for that load instead.

Keys must name a cache version token (read before the database): a request that read a
newer token uses another key and loads for itself, so nobody is handed a row read before a
change it could already see.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

# Per event loop (tests run several): key -> the future of the load in flight.
_flights: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, asyncio.Future]] \
    = weakref.WeakKeyDictionary()


async def shared(key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """``await load()``, or the result of the same key's load already in flight."""
    loop = asyncio.get_running_loop()
    flights = _flights.get(loop)
    if flights is None:
        flights = _flights[loop] = {}
    flight: asyncio.Future[Any] | None = flights.get(key)
    if flight is not None:
        # Shielded: a follower that gives up does not cancel the load for the others.
        return await asyncio.shield(flight)
    flight = flights[key] = loop.create_future()
    try:
        result = await load()
    except asyncio.CancelledError:
        flight.cancel()
        raise
    except BaseException as exc:
        flight.set_exception(exc)
        flight.exception()  # retrieved: no warning when nobody else was waiting
        raise
    else:
        flight.set_result(result)
        return result
    finally:
        del flights[key]
