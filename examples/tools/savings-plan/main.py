"""savings-plan: a Pixie tool using only the Python standard library.

Compounds a starting balance plus a monthly deposit at a yearly rate
(interest added monthly) and returns a chart, a table and a summary.
Serves the Pixie tool contract on 127.0.0.1:<port>:
GET /healthz, GET /schema, POST /run.
"""
import argparse
import json
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA = json.loads((pathlib.Path(__file__).parent / "tool.json").read_text())


def number(inputs, key, default, low, high):
    value = inputs.get(key, default)
    if value is None or value == "":
        value = default
    value = float(value)
    if not low <= value <= high:
        raise ValueError(f"{key} must be between {low} and {high}")
    return value


def plan(inputs):
    monthly = number(inputs, "monthly", 200, 0, 1e9)
    rate = number(inputs, "rate", 4, 0, 100)
    years = int(number(inputs, "years", 10, 1, 100))
    balance = number(inputs, "start", 1000, 0, 1e12)
    deposited = balance
    rows, labels, balances, deposits, interest_per_year = [], [], [], [], []
    for year in range(1, years + 1):
        interest = 0.0
        for _ in range(12):
            earned = balance * rate / 100 / 12
            interest += earned
            balance += earned + monthly
            deposited += monthly
        rows.append({"year": year, "deposited": round(deposited, 2), "interest": round(interest, 2),
                     "balance": round(balance, 2)})
        labels.append(f"Year {year}")
        balances.append(round(balance, 2))
        deposits.append(round(deposited, 2))
        interest_per_year.append(round(interest, 2))
    total_interest = balance - deposited
    return {
        "final_balance": round(balance, 2),
        "growth": {"x": labels, "series": [{"name": "Deposits", "values": deposits},
                                           {"name": "Balance", "values": balances}]},
        "split": {"slices": [{"label": "Deposits", "value": round(deposited, 2)},
                             {"label": "Interest", "value": round(total_interest, 2)}]},
        "yearly": {"x": labels, "series": [{"name": "Interest", "values": interest_per_year}]},
        "schedule": {"columns": [{"key": "year", "label": "Year", "type": "number"},
                                 {"key": "deposited", "label": "Deposited", "type": "number"},
                                 {"key": "interest", "label": "Interest that year", "type": "number"},
                                 {"key": "balance", "label": "Balance", "type": "number"}],
                     "rows": rows},
        "summary": (f"After **{years} years** of saving **{monthly:,.2f}** a month at **{rate:g}%**, "
                    f"you will have **{balance:,.2f}**: {deposited:,.2f} deposited and "
                    f"{total_interest:,.2f} earned in interest."),
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
            self.reply(200, plan(body.get("inputs", body)))
        except (ValueError, TypeError, AttributeError) as exc:
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
