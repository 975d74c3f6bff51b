"""weir's /metrics read by Prometheus's own parser (the `prometheus_client` package's OpenMetrics
parser), after boto3 ran executions and moved queue messages through the server.

Run by crates/cli/tests/clients.rs against a `weir server` it starts; WEIR_ENDPOINT names it.
"""

import json
import os
import time
import unittest
import urllib.request

import boto3
from botocore.config import Config
from prometheus_client.openmetrics.parser import text_string_to_metric_families

ENDPOINT = os.environ["WEIR_ENDPOINT"]
ROLE = "arn:aws:iam::000000000000:role/metrics"


def client(service):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDWEIRTEST",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )


SFN = client("stepfunctions")
SQS = client("sqs")


def scrape():
    with urllib.request.urlopen(f"{ENDPOINT}/metrics") as answer:
        content_type = answer.headers["Content-Type"]
        text = answer.read().decode()
    return content_type, {f.name: f for f in text_string_to_metric_families(text)}


def value(families, family, sample_name, **labels):
    for sample in families[family].samples:
        if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    raise AssertionError(f"no {sample_name} with {labels} in {families[family].samples}")


class Metrics(unittest.TestCase):
    def test_executions_and_queues_are_counted(self):
        ok = SFN.create_state_machine(
            name="metrics-ok", roleArn=ROLE,
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        bad = SFN.create_state_machine(
            name="metrics-bad", roleArn=ROLE,
            definition=json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken"}}}),
        )["stateMachineArn"]
        runs = [SFN.start_execution(stateMachineArn=ok)["executionArn"] for _ in range(3)]
        runs += [SFN.start_execution(stateMachineArn=bad)["executionArn"] for _ in range(2)]
        deadline = time.time() + 10
        while any(SFN.describe_execution(executionArn=r)["status"] == "RUNNING" for r in runs):
            self.assertLess(time.time(), deadline, "executions still running")
            time.sleep(0.05)

        url = SQS.create_queue(QueueName="metrics-queue")["QueueUrl"]
        SQS.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)]
        )
        got = SQS.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
        self.assertEqual(len(got), 2)
        SQS.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])

        content_type, families = scrape()
        self.assertTrue(content_type.startswith("application/openmetrics-text"), content_type)
        self.assertEqual(families["weir_executions_started"].type, "counter")
        self.assertEqual(
            value(families, "weir_executions_started", "weir_executions_started_total",
                  state_machine="metrics-ok"), 3)
        self.assertEqual(
            value(families, "weir_executions_ended", "weir_executions_ended_total",
                  state_machine="metrics-ok", status="SUCCEEDED"), 3)
        self.assertEqual(
            value(families, "weir_executions_ended", "weir_executions_ended_total",
                  state_machine="metrics-bad", status="FAILED"), 2)
        self.assertEqual(families["weir_execution_duration_seconds"].type, "histogram")
        self.assertEqual(
            value(families, "weir_execution_duration_seconds", "weir_execution_duration_seconds_count",
                  state_machine="metrics-bad", status="FAILED"), 2)
        self.assertEqual(
            value(families, "weir_state_errors", "weir_state_errors_total",
                  state_machine="metrics-bad", state="F", error="Broken", outcome="unhandled"), 2)
        self.assertEqual(
            value(families, "weir_queue_messages", "weir_queue_messages",
                  queue="metrics-queue", state="visible"), 3)
        self.assertEqual(
            value(families, "weir_queue_messages", "weir_queue_messages",
                  queue="metrics-queue", state="in_flight"), 1)
        for event, expected in [("sent", 5), ("received", 2), ("deleted", 1)]:
            self.assertEqual(
                value(families, "weir_queue_events", "weir_queue_events_total",
                      queue="metrics-queue", event=event), expected)
        self.assertGreaterEqual(
            value(families, "weir_queue_oldest_message_age_seconds",
                  "weir_queue_oldest_message_age_seconds", queue="metrics-queue"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
