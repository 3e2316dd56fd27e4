"""word-count: a Pixie tool using only the Python standard library.

Serves the Pixie tool contract on 127.0.0.1:<port>:
GET /healthz, GET /schema, POST /run.
"""
import argparse
import collections
import json
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA = json.loads((pathlib.Path(__file__).parent / "tool.json").read_text())


def count(text, ignore_case):
    words = text.split()
    keyed = [w.strip(".,;:!?\"'()").lower() if ignore_case else w.strip(".,;:!?\"'()") for w in words]
    top = collections.Counter(w for w in keyed if w).most_common(1)
    return {
        "words": len(words),
        "lines": len(text.splitlines()) if text else 0,
        "characters": len(text),
        "top_word": top[0][0] if top else "",
    }


class Handler(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/healthz":
            self.reply(200, {"ok": True})
        elif self.path == "/schema":
            self.reply(200, SCHEMA)
        else:
            self.reply(404, {"detail": "not found"})

    def do_POST(self):
        if self.path != "/run":
            self.reply(404, {"detail": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            inputs = body.get("inputs", body)
            text = inputs.get("text", "")
            if not isinstance(text, str):
                raise ValueError("text must be a string")
            self.reply(200, count(text, bool(inputs.get("ignore_case", True))))
        except (ValueError, AttributeError) as exc:
            self.reply(422, {"detail": str(exc)})

    def log_message(self, fmt, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
