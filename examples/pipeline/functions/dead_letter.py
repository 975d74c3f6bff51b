"""dead-letter: appends a rejected record and its error to the dead-letter file.

Event: {"file", "execution", "record", "error", "cause": {"errorType", "errorMessage"}}.
The entry carries weir's idempotency key: if a crash makes weir repeat this task, the record is
not written twice.
"""

from lambda_runtime import append_jsonl, log, read_jsonl, serve


def handler(event, context):
    path = event["file"]
    cause = event.get("cause") or {}
    entry = {
        "execution": event["execution"],
        "idempotency_key": context.idempotency_key,
        "line": event["record"].get("line"),
        "record": event["record"],
        "error": event["error"],
        "message": cause.get("errorMessage", ""),
    }
    if any(e.get("idempotency_key") == context.idempotency_key for e in read_jsonl(path)):
        log(f"line {entry['line']} is already in {path}")
    else:
        append_jsonl(path, entry)
        log(f"line {entry['line']} -> {path}: {entry['message']}")
    return {
        "status": "dead-lettered",
        "line": entry["line"],
        "error": entry["error"],
        "message": entry["message"],
    }


if __name__ == "__main__":
    serve(handler)
