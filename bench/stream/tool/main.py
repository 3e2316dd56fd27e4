"""stream-bench: /stream writes `n` events {"chunk", "stamp", "wall"} where
stamp is time.monotonic_ns() just before the write (the same clock as
Pixie's sys.monotonic_ms and the C reader's CLOCK_MONOTONIC) and wall the
same moment in milliseconds since the epoch (for a browser's clock). Also answers /stream
without a /run first (the direct reader), with n and pace_us in the query."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import fixturelib  # noqa: E402

pending = {}


def run(body):
    inputs = body["inputs"]
    pending[body["run_id"]] = (int(inputs.get("n", 1000)), int(inputs.get("pace_us", 1000)))
    return {"reply": "", "stamp": 0}


def stream(run_id, send):
    if run_id.startswith("direct-"):
        _, n, pace = run_id.split("-")
        n, pace = int(n), int(pace)
    else:
        n, pace = pending.pop(run_id, (1000, 1000))
    chunk = "token " * 8
    for _ in range(n):
        if pace:
            time.sleep(pace / 1e6)
        send("data: " + json.dumps({"chunk": chunk, "stamp": time.monotonic_ns(), "wall": time.time() * 1000}) + "\n\n")
    send('data: {"done": true}\n\n')


fixturelib.serve(__file__, run, stream=stream)
