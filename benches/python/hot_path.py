"""Hot path of the reference: `app.get_authorizer(rs).get_authorization_header()` on a
UserApp whose valid token is in a JSON file (GlobusApp's default path under $HOME,
made by make_token_file.py), with 1 and 2 threads.

Usage: python hot_path.py [SECONDS_PER_CASE]
Prints one JSON object: {"threads_1": {...}, "threads_2": {...}} with ns per call
(as each thread sees it) and calls per second (all threads together).
"""

import json
import statistics
import sys
import threading
import time

import globus_sdk

from common import APP_NAME, NATIVE_CLIENT_ID, TRANSFER_ALL, TRANSFER_RS

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0

app = globus_sdk.UserApp(
    APP_NAME,
    client_id=NATIVE_CLIENT_ID,
    scope_requirements={TRANSFER_RS: [TRANSFER_ALL]},
)
assert app.get_authorizer(TRANSFER_RS).get_authorization_header().startswith("Bearer ")


def calls(n):
    get = app.get_authorizer
    for _ in range(n):
        get(TRANSFER_RS).get_authorization_header()


def timed(threads, n):
    """Wall time of `threads` threads each making n calls."""
    workers = [threading.Thread(target=calls, args=(n,)) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - start


# Calibrate: about 0.1 s per sample, single thread.
n = 1000
while timed(1, n) < 0.05:
    n *= 2
n = max(1000, int(n * 0.1 / timed(1, n)))

result = {"iterations_per_sample": n}
for threads in (1, 2):
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        samples.append(timed(threads, n))
    wall = statistics.median(samples)
    result[f"threads_{threads}"] = {
        "ns_per_call": wall / n * 1e9,
        "calls_per_second": threads * n / wall,
        "samples": len(samples),
    }
print(json.dumps(result))
