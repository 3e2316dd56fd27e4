"""Generates N realistic tools (5 inputs, 3 outputs, 1 secret) under HOME/tools."""
import json
import os
import sys

home, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    tid = f"tool-{i:04d}"
    spec = {
        "id": tid, "name": f"Tool {i}", "description": "A generated tool", "version": "1.0.0",
        "category": "bench/generated",
        "inputs": [
            {"key": "text", "label": "Text", "type": "textarea", "default": "hello"},
            {"key": "count", "label": "Count", "type": "number", "min": 0, "max": 100, "default": 3},
            {"key": "mode", "label": "Mode", "type": "select",
             "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]},
            {"key": "flag", "label": "Flag", "type": "checkbox", "required": False},
            {"key": "when", "label": "When", "type": "date", "required": False},
        ],
        "outputs": [
            {"key": "result", "label": "Result", "type": "text"},
            {"key": "score", "label": "Score", "type": "number", "precision": 2},
            {"key": "rows", "label": "Rows", "type": "table"},
        ],
        "secrets": [{"key": "API_KEY", "description": "key", "required": False}],
    }
    d = os.path.join(home, "tools", tid)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tool.json"), "w") as f:
        json.dump(spec, f, indent=2)
    with open(os.path.join(d, "main.py"), "w") as f:
        f.write("print('hi')\n")
