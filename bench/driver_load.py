"""The project's DLMS driver client as a load generator, shared by bench_dlms.py and bench_lab.py.

One thread per meter: associate (LLS) with :class:`DlmsOpticalClient`, wait until every client has,
then GET the energy register until the measurement window closes. Associating first keeps association
cost out of the GET rate both benchmarks report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from lean_dlms import ENERGY

#: (name, port, LLS password, check of the register value: False is a wrong answer)
Target = tuple[str, int, bytes | None, Callable[[object], bool]]


def threaded_driver_reads(targets: Sequence[Target], seconds: float, barrier: Any) -> tuple[int, int]:
    """GETs done and associations made by one thread per target in a ``seconds`` window that starts
    when every client has associated and ``barrier`` (shared with the other client processes) opens.
    A client that fails stops only itself; the first failure is raised after the window."""
    from device_drivers.protocols.dlms import DlmsOpticalClient

    counts = [0, 0]  # GETs, associations (a failed client counts as "associated": nobody waits for it)
    errors: list[BaseException] = []
    lock = threading.Lock()
    go = threading.Event()
    deadline = [0.0]

    def run(name: str, port: int, password: bytes | None, ok: Callable[[object], bool]) -> None:
        try:
            url = f"socket://127.0.0.1:{port}"
            with DlmsOpticalClient(url, client_address=1, password=password, timeout=30) as client:
                with lock:
                    counts[1] += 1
                go.wait()
                done = 0
                while time.monotonic() < deadline[0]:
                    if not ok(client.get(3, ENERGY, 2)):
                        raise RuntimeError(f"{name}: wrong energy register value")
                    done += 1
                with lock:
                    counts[0] += done
        except BaseException as exc:
            errors.append(exc)
            with lock:
                counts[1] += 1

    threads = [threading.Thread(target=run, args=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    while counts[1] < len(targets):  # associate everyone before the measurement window
        time.sleep(0.01)
    barrier.wait()
    deadline[0] = time.monotonic() + seconds
    go.set()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} driver clients failed, first: {errors[0]!r}")
    return counts[0], counts[1] - len(errors)
