"""alert: reports dead-lettered records on stderr and in the alerts file.

Event: {"execution", "ingested", "dead_lettered", "dead_letter_queue_url", "alerts_file",
"rejected": [{"line", "error", "message", "message_id"}, ...]}.
"""

import time

from lambda_runtime import append_jsonl, log, serve


def handler(event, context):
    count = event["dead_lettered"]
    log(
        f"ALERT: {count} of {event['ingested']} records were dead-lettered by execution "
        f"{event['execution']}; they are in the queue {event['dead_letter_queue_url']}"
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
            "dead_letter_queue_url": event["dead_letter_queue_url"],
            "lines": [r["line"] for r in event["rejected"]],
        },
    )
    return {"alerted": True, "file": event["alerts_file"]}


if __name__ == "__main__":
    serve(handler)
