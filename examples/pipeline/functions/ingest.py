"""ingest-orders: reads a JSON-lines file of orders and returns one record per non-blank line.

Event: {"source": "data/orders.jsonl"} (relative to the function's directory, the registry's).
Result: {"source", "count", "records": [{"line": N, "order": {...}} or {"line": N, "raw": "...",
"parse_error": "..."}]}. A line that is not JSON is kept (as `raw`) so validation can dead-letter
it with the rest instead of failing the whole run.
"""

import json

from lambda_runtime import FunctionError, log, serve


class SourceNotFound(FunctionError):
    """The source file does not exist."""


def handler(event, context):
    source = event["source"]
    records = []
    try:
        with open(source, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                text = line.strip()
                if not text:
                    continue
                try:
                    records.append({"line": number, "order": json.loads(text)})
                except json.JSONDecodeError as e:
                    records.append({"line": number, "raw": text, "parse_error": str(e)})
    except FileNotFoundError as e:
        raise SourceNotFound(f"cannot read {source}: {e.strerror}") from e
    log(f"read {len(records)} records from {source}")
    return {"source": source, "count": len(records), "records": records}


if __name__ == "__main__":
    serve(handler)
