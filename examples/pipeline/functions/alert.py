"""alert: reports dead-lettered records on stderr and in the alerts file.

Event: {"execution", "ingested", "dead_lettered", "dead_letter_file", "alerts_file",
"rejected": [{"line", "error", "message"}, ...]}.
"""

import time

from lambda_runtime import append_jsonl, log, serve


def handler(event, context):
    count = event["dead_lettered"]
    log(
        f"ALERT: {count} of {event['ingested']} records were dead-lettered by execution "
        f"{event['execution']}; see {event['dead_letter_file']}"
    )
    for rejected in event["rejected"]:
        log(f"  line {rejected['line']}: {rejected['error']}: {rejected['message']}")
    append_jsonl(
        event["alerts_file"],
        {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "execution": event["execution"],
            "ingested": event["ingested"],
            "dead_lettered": count,
            "dead_letter_file": event["dead_letter_file"],
            "lines": [r["line"] for r in event["rejected"]],
        },
    )
    return {"alerted": True, "file": event["alerts_file"]}


if __name__ == "__main__":
    serve(handler)
