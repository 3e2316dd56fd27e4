"""slow-story: a streaming Pixie tool using only the Python standard library.

POST /run answers at once with placeholder outputs and remembers the run;
GET /stream?run_id=<id> then sends Server-Sent Events: each `data:` line is
a JSON object keyed by output keys ("story" text is appended, "progress"
and "words" replaced) and the last one says "done": true.
POST /cancel?run_id=<id> stops a story early (it still ends with done).
"""
import argparse
import json
import pathlib
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA = json.loads((pathlib.Path(__file__).parent / "tool.json").read_text())

STORY = ("Once upon a time, {hero} found a small tool that kept its secrets safe. "
         "It ran on a quiet laptop, spoke only to 127.0.0.1, and drew charts without the internet. "
         "{hero} typed a question, pressed Run, and watched the answer arrive one word at a time. "
         "The end.")

runs = {}  # run_id -> {"text": str, "delay": float, "cancel": Event}
lock = threading.Lock()


def start(body):
    inputs = body.get("inputs", body)
    hero = str(inputs.get("hero") or "Ada")[:60]
    delay = max(0.0, min(float(inputs.get("delay_ms", 120) or 0), 1000.0)) / 1000
    run_id = str(body.get("run_id") or body.get("_pixie", {}).get("run_id") or "")
    with lock:
        runs[run_id] = {"text": STORY.format(hero=hero), "delay": delay, "cancel": threading.Event()}
    return {"story": "", "progress": 0, "words": 0}


def events(run_id):
    """The SSE lines of one run's story."""
    with lock:
        run = runs.pop(run_id, None)
    if run is None:
        yield {"story": "", "progress": 1, "done": True}
        return
    words = run["text"].split(" ")
    for i, word in enumerate(words):
        if run["cancel"].is_set():
            yield {"story": " [stopped]", "done": True}
            return
        yield {"story": (" " if i else "") + word, "progress": round((i + 1) / len(words), 3),
               "words": i + 1, "done": False}
        time.sleep(run["delay"])
    yield {"progress": 1, "done": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def query(self):
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("run_id", [""])[0]

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/healthz":
            self.reply(200, {"ok": True})
        elif path == "/schema":
            self.reply(200, SCHEMA)
        elif path == "/stream":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            try:
                for event in events(self.query()):
                    self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass
        else:
            self.reply(404, {"detail": "not found"})

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path == "/cancel":
            with lock:
                run = runs.get(self.query())
            if run:
                run["cancel"].set()
            self.reply(200, {"cancelled": bool(run)})
        elif path == "/run":
            try:
                self.reply(200, start(json.loads(raw or b"{}")))
            except (ValueError, TypeError, AttributeError) as exc:
                self.reply(422, {"detail": str(exc)})
        else:
            self.reply(404, {"detail": "not found"})

    def log_message(self, fmt, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
