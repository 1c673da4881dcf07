"""Embedded queue throughput: send + receive + delete round trips per second, with 1 and 4
worker processes sharing one queue file. Target: >= 1,000 round trips/s.

    python bench/queue.py [--seconds 3]

Prints figures as it goes; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "queue":
    # A sibling script (``python bench/x.py`` puts bench/ first on the path) imported the
    # standard library's ``queue`` and found this file: hand it the real module instead.
    import importlib.util
    import sysconfig

    _spec = importlib.util.spec_from_file_location(
        "queue", Path(sysconfig.get_paths()["stdlib"]) / "queue.py")
    _real = importlib.util.module_from_spec(_spec)
    sys.modules["queue"] = _real
    _spec.loader.exec_module(_real)

else:
    # Run as a script: keep this folder off the path (so ``queue`` is the standard library's)
    # and the repository on it.
    _HERE = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


def _loop(path: str, seconds: float, start, results) -> None:
    from openwan.queue.embedded import EmbeddedQueue

    q = EmbeddedQueue(Path(path), visibility_timeout=60, wait_seconds=1)
    body = {"name": "media.process", "job_id": 0, "asset_id": 0}
    start.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        q.send(body)
        messages = q.receive(wait_seconds=1)
        for message in messages:
            q.delete(message.receipt)
        done += 1
    results.put(done)


def run(processes: int, seconds: float, folder: Path) -> float:
    from openwan.queue.embedded import EmbeddedQueue

    path = folder / f"bench-{processes}.db"
    EmbeddedQueue(path).close()  # create the schema once
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_loop, args=(str(path), seconds, start, results))
             for _ in range(processes)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process import and open the file
    started = time.perf_counter()
    start.set()
    total = sum(results.get(timeout=seconds + 60) for _ in procs)
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join(10)
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="openwan-bench-queue-") as tmp:
        for processes in (1, 4):
            rate = run(processes, args.seconds, Path(tmp))
            figures[f"round_trips_per_s_{processes}_proc"] = round(rate, 1)
            print(f"{processes} process(es): {rate:,.0f} send+receive+delete round trips/s",
                  flush=True)
    figures["target_per_s"] = 1000
    figures["meets_target"] = min(v for k, v in figures.items() if k.startswith("round")) >= 1000
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
