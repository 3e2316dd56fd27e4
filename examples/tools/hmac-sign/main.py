"""hmac-sign: a Pixie tool that needs a secret, standard library only.

Pixie puts the tool's .env values into the environment before it starts the
tool, so os.environ["SIGNING_KEY"] is set without python-dotenv.
Serves GET /healthz, GET /schema and POST /run on 127.0.0.1:<port>.
"""
import argparse
import hashlib
import hmac
import json
import os
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA = json.loads((pathlib.Path(__file__).parent / "tool.json").read_text())
ALGORITHMS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


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
        key = os.environ.get("SIGNING_KEY")
        if not key:
            self.reply(400, {"detail": "SIGNING_KEY is not set"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        inputs = json.loads(self.rfile.read(length) or b"{}").get("inputs", {})
        algorithm = inputs.get("algorithm", "sha256")
        if algorithm not in ALGORITHMS:
            self.reply(422, {"detail": f"unknown algorithm {algorithm!r}"})
            return
        message = str(inputs.get("message", "")).encode()
        digest = hmac.new(key.encode(), message, ALGORITHMS[algorithm]).hexdigest()
        self.reply(200, {"signature": digest, "algorithm": algorithm})

    def log_message(self, fmt, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
