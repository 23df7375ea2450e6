"""Storage operations of the reference, shaped like storage/benches/storage.rs: the
Python globus-sdk's JSONTokenStorage and SQLiteTokenStorage with 1 and 20 resource
servers in the namespace read or written, plus a second namespace of 2 beside it.

Usage: python storage.py DIR [SECONDS_PER_CASE]
Prints one JSON object: {"json": {"get_one": {"1": ns, "20": ns}, ...}, "sqlite": ...}
with the median nanoseconds per operation.

Note: the reference's JSON store rewrites the file in place without fsync; SQLite
commits with its defaults (journal, fsync), as the Rust storages do.
"""

import json
import os
import statistics
import sys
import time

from globus_sdk.token_storage import JSONTokenStorage, SQLiteTokenStorage

from common import sample_tokens

directory = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5


def names(n):
    return [f"resource-server-{i:02d}.api.globus.org" for i in range(n)]


def measure(op):
    """Median ns per call: batches timed until `seconds` have passed."""
    op()
    start = time.perf_counter()
    op()
    once = time.perf_counter() - start
    batch = max(1, int(0.01 / max(once, 1e-9)))
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        for _ in range(batch):
            op()
        samples.append((time.perf_counter() - start) / batch)
    return statistics.median(samples) * 1e9


results = {}
for backend, cls, ext in (("json", JSONTokenStorage, "json"), ("sqlite", SQLiteTokenStorage, "db")):
    results[backend] = {"get_one": {}, "get_all": {}, "store": {}}
    for n in (1, 20):
        path = os.path.join(directory, f"{backend}-{n}.{ext}")
        storage = cls(path)
        other = cls(path, namespace="other-app") if backend == "json" else None
        tokens = sample_tokens(names(n))
        storage.store_token_data_by_resource_server(tokens)
        if other is not None:
            other.store_token_data_by_resource_server(sample_tokens(names(2)))
        else:
            # SQLite: one connection per file; a second namespace through a second one.
            second = cls(path, namespace="other-app")
            second.store_token_data_by_resource_server(sample_tokens(names(2)))
            second.close()
        last = names(n)[-1]
        assert storage.get_token_data(last) is not None
        results[backend]["get_one"][str(n)] = measure(lambda: storage.get_token_data(last))
        results[backend]["get_all"][str(n)] = measure(storage.get_token_data_by_resource_server)
        results[backend]["store"][str(n)] = measure(
            lambda: storage.store_token_data_by_resource_server(tokens)
        )
        storage.close()
print(json.dumps(results))
