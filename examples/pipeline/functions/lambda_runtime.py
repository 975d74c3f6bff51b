"""A small stand-in for the AWS Lambda Python runtime, speaking weir's function protocol.

weir starts a function once per task attempt, writes the event as JSON on stdin and reads the
result as JSON on stdout; stderr is for logs. `serve(handler)` calls `handler(event, context)` the
way Lambda does. An exception becomes Lambda's error object on stdout and a non-zero exit, so the
state machine sees the exception's class name as the error (`InvalidOrder`, `WarehouseBusy`) and
can Retry or Catch it by that name.
"""

import json
import os
import sys
import traceback


class FunctionError(Exception):
    """An expected failure: reported by its class name, without a stack trace in the logs."""


class Context:
    """What weir tells a function about the call, from the environment."""

    def __init__(self):
        self.function_name = os.environ.get("WEIR_FUNCTION_NAME", "")
        # Unique per execution, state, Map index and attempt: the same key is the same work.
        self.idempotency_key = os.environ.get("WEIR_IDEMPOTENCY_KEY", "")
        # 0 for the first attempt, 1 for the first retry, ...
        self.attempt = int(os.environ.get("WEIR_ATTEMPT", "0"))


def log(message):
    """Writes one log line; weir shows it on its stderr, prefixed with the function's name."""
    print(message, file=sys.stderr, flush=True)


def serve(handler):
    """Reads the event, runs the handler, writes its result or its error, and exits."""
    try:
        event = json.load(sys.stdin)
        result = handler(event, Context())
    except Exception as error:  # noqa: BLE001 - every failure must reach the state machine
        if isinstance(error, FunctionError):
            log(f"{type(error).__name__}: {error}")
        else:
            traceback.print_exc(file=sys.stderr)
        json.dump({"errorMessage": str(error), "errorType": type(error).__name__}, sys.stdout)
        sys.exit(1)
    json.dump(result, sys.stdout)


def append_jsonl(path, record):
    """Appends one JSON line to `path`, creating its directory."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, sort_keys=True) + "\n")


def read_jsonl(path):
    """The JSON lines of `path`, or none if it does not exist."""
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
