"""weir's /metrics read by Prometheus's own parser (the `prometheus_client` package's OpenMetrics
parser), after boto3 ran executions and moved queue messages through the server, and a command
function and the API reported custom metrics.

Run by crates/cli/tests/clients.rs against a `weir server` it starts; WEIR_ENDPOINT names it.
"""

import json
import os
import time
import unittest
import urllib.error
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

    def test_functions_custom_metrics_and_the_store_are_measured(self):
        # A command function that reports a custom metric on stderr in CloudWatch's Embedded
        # Metric Format, as a Lambda function would, and echoes its event.
        script = (
            "import json, sys\n"
            "event = json.load(sys.stdin)\n"
            "print(json.dumps({'_aws': {'Timestamp': 0, 'CloudWatchMetrics': [{'Namespace': 'orders',"
            " 'Dimensions': [['stage']], 'Metrics': [{'Name': 'RecordsProcessed', 'Unit': 'Count'}]}]},"
            " 'stage': 'load', 'RecordsProcessed': event['n']}), file=sys.stderr)\n"
            "print('not a metric line', file=sys.stderr)\n"
            "print(json.dumps(event))\n"
        )
        weir("CreateFunction", {"name": "emf-load", "command": ["python3", "-c", script]})
        machine = SFN.create_state_machine(
            name="metrics-emf", roleArn=ROLE,
            definition=json.dumps({"StartAt": "Load", "States": {"Load": {
                "Type": "Task", "End": True,
                "Resource": "arn:aws:lambda:us-east-1:000000000000:function:emf-load"}}}),
        )["stateMachineArn"]
        runs = [SFN.start_execution(stateMachineArn=machine, input=json.dumps({"n": n}))["executionArn"]
                for n in (4, 6)]
        deadline = time.time() + 30
        while any(SFN.describe_execution(executionArn=r)["status"] == "RUNNING" for r in runs):
            self.assertLess(time.time(), deadline, "executions still running")
            time.sleep(0.05)
        for run in runs:
            self.assertEqual(SFN.describe_execution(executionArn=run)["status"], "SUCCEEDED")

        # Any program reports through the API, shaped like CloudWatch's PutMetricData.
        for _ in range(2):
            weir("PutMetricData", {"namespace": "orders", "metricData": [
                {"metricName": "RecordsRejected", "unit": "Count", "value": 2,
                 "dimensions": [{"name": "stage", "value": "validate"}]},
                {"metricName": "LoadSeconds", "unit": "Seconds", "values": [3.5, 1.25]},
            ]})
        status, error = weir_error("PutMetricData", {"namespace": "orders", "metricData": [
            {"metricName": "RecordsRejected", "unit": "Count", "value": 1},
            {"metricName": "RecordsRejected", "unit": "Count", "value": -1},
        ]})
        self.assertEqual(status, 400)
        self.assertEqual(error["__type"], "InvalidParameterValue")
        self.assertIn("metricData[1] (RecordsRejected)", error["message"])

        _, families = scrape()
        self.assertEqual(families["weir_custom_RecordsProcessed"].type, "counter")
        self.assertEqual(
            value(families, "weir_custom_RecordsProcessed", "weir_custom_RecordsProcessed_total",
                  namespace="orders", stage="load", function="emf-load"), 10)
        self.assertEqual(
            value(families, "weir_custom_RecordsRejected", "weir_custom_RecordsRejected_total",
                  namespace="orders", stage="validate"), 4)
        self.assertEqual(families["weir_custom_LoadSeconds"].type, "gauge")
        self.assertEqual(
            value(families, "weir_custom_LoadSeconds", "weir_custom_LoadSeconds", namespace="orders"),
            1.25)
        self.assertEqual(
            value(families, "weir_function_invocations", "weir_function_invocations_total",
                  function="emf-load", outcome="succeeded"), 2)
        self.assertEqual(
            value(families, "weir_function_duration_seconds", "weir_function_duration_seconds_count",
                  function="emf-load"), 2)
        commits = value(families, "weir_store_commit_seconds", "weir_store_commit_seconds_count")
        self.assertGreater(commits, 0)
        self.assertEqual(
            value(families, "weir_store_commit_batch_size", "weir_store_commit_batch_size_count"),
            commits)
        self.assertGreaterEqual(
            value(families, "weir_store_commit_batch_size", "weir_store_commit_batch_size_sum"),
            commits)


def weir_request(operation, body):
    return urllib.request.Request(
        f"{ENDPOINT}/", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"Weir.{operation}"},
    )


def weir(operation, body):
    """One of weir's own operations, which must succeed; its answer."""
    with urllib.request.urlopen(weir_request(operation, body)) as answer:
        return json.loads(answer.read() or b"{}")


def weir_error(operation, body):
    """One of weir's own operations, which must fail; its status and error body."""
    try:
        urllib.request.urlopen(weir_request(operation, body))
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    raise AssertionError(f"{operation} succeeded")


if __name__ == "__main__":
    unittest.main(verbosity=2)
