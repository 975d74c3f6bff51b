"""Activity workers and callbacks written with boto3, as they are written for AWS.

Run by crates/cli/tests/clients.rs against a `weir server` it starts; WEIR_ENDPOINT names it.
A worker polls with get_activity_task, heartbeats with send_task_heartbeat and answers with
send_task_success or send_task_failure; a worker that stops heartbeating makes the task fail with
States.HeartbeatTimeout, and the state's Retry gives the task to the next worker. Expected values
follow AWS's API reference and the Step Functions developer guide, not weir's output.
"""

import json
import os
import threading
import time
import unittest

import boto3
from botocore.config import Config

ENDPOINT = os.environ["WEIR_ENDPOINT"]
ROLE = "arn:aws:iam::000000000000:role/pipeline"


def client():
    # A long poll lasts up to 60 seconds: the read timeout must be longer, as AWS advises.
    return boto3.client(
        "stepfunctions",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDWEIRTEST",
        aws_secret_access_key="secret",
        config=Config(read_timeout=70, retries={"max_attempts": 1}),
    )


SFN = client()


def unique(prefix):
    return f"{prefix}-{time.time_ns()}"


def create(name, definition):
    return SFN.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


def wait_for(arn, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = SFN.describe_execution(executionArn=arn)
        if found["status"] != "RUNNING":
            return found
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running after {seconds}s")


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except SFN.exceptions.ClientError as error:
        return error.response["Error"]["Code"]
    raise AssertionError("the call should have failed")


def history_types(arn):
    events = SFN.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["type"] for e in events]


class Activities(unittest.TestCase):
    def test_create_describe_list_tag_delete(self):
        name = unique("review")
        arn = SFN.create_activity(name=name, tags=[{"key": "team", "value": "data"}])["activityArn"]
        self.assertEqual(arn, f"arn:aws:states:us-east-1:000000000000:activity:{name}")
        self.assertEqual(SFN.create_activity(name=name)["activityArn"], arn, "idempotent")
        described = SFN.describe_activity(activityArn=arn)
        self.assertEqual(described["name"], name)
        self.assertIn("creationDate", described)
        listed = [a["activityArn"] for a in SFN.list_activities()["activities"]]
        self.assertIn(arn, listed)
        tags = SFN.list_tags_for_resource(resourceArn=arn)["tags"]
        self.assertEqual(tags, [{"key": "team", "value": "data"}])
        SFN.delete_activity(activityArn=arn)
        self.assertEqual(error_code(SFN.describe_activity, activityArn=arn), "ActivityDoesNotExist")
        self.assertEqual(
            error_code(SFN.get_activity_task, activityArn=arn), "ActivityDoesNotExist"
        )

    def test_a_worker_polls_heartbeats_and_answers(self):
        activity = SFN.create_activity(name=unique("enrich"))["activityArn"]
        machine = create(
            unique("enriched"),
            {
                "StartAt": "Enrich",
                "States": {
                    "Enrich": {
                        "Type": "Task",
                        "Resource": activity,
                        "HeartbeatSeconds": 2,
                        "TimeoutSeconds": 60,
                        "End": True,
                    }
                },
            },
        )
        # The worker polls first: the long poll returns as soon as the task is scheduled.
        got = {}

        def worker():
            got["task"] = client().get_activity_task(activityArn=activity, workerName="worker-a")

        polling = threading.Thread(target=worker)
        polling.start()
        time.sleep(0.3)
        run = SFN.start_execution(stateMachineArn=machine, input=json.dumps({"id": 7}))["executionArn"]
        polling.join(timeout=30)
        task = got["task"]
        self.assertEqual(json.loads(task["input"]), {"id": 7})
        token = task["taskToken"]
        # Heartbeats every second keep a task with HeartbeatSeconds 2 alive for 4 seconds.
        for _ in range(4):
            time.sleep(1)
            SFN.send_task_heartbeat(taskToken=token)
        self.assertEqual(SFN.describe_execution(executionArn=run)["status"], "RUNNING")
        SFN.send_task_success(taskToken=token, output=json.dumps({"id": 7, "enriched": True}))
        done = wait_for(run)
        self.assertEqual(done["status"], "SUCCEEDED")
        self.assertEqual(json.loads(done["output"]), {"id": 7, "enriched": True})
        events = SFN.get_execution_history(executionArn=run)["events"]
        started = [e for e in events if e["type"] == "ActivityStarted"]
        self.assertEqual(started[0]["activityStartedEventDetails"], {"workerName": "worker-a"})
        self.assertEqual(
            [t for t in history_types(run) if t.startswith("Activity")],
            ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"],
        )
        self.assertEqual(
            error_code(SFN.send_task_success, taskToken=token, output="{}"), "TaskTimedOut"
        )

    def test_a_silent_worker_times_out_and_the_retry_goes_to_the_next(self):
        activity = SFN.create_activity(name=unique("flaky"))["activityArn"]
        machine = create(
            unique("retried"),
            {
                "StartAt": "Work",
                "States": {
                    "Work": {
                        "Type": "Task",
                        "Resource": activity,
                        "HeartbeatSeconds": 1,
                        "Retry": [
                            {
                                "ErrorEquals": ["States.HeartbeatTimeout"],
                                "IntervalSeconds": 1,
                                "MaxAttempts": 1,
                            }
                        ],
                        "End": True,
                    }
                },
            },
        )
        run = SFN.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        first = SFN.get_activity_task(activityArn=activity, workerName="silent")
        # This worker takes the task and dies: no heartbeat, no answer.
        second = SFN.get_activity_task(activityArn=activity, workerName="healthy")
        self.assertNotEqual(first["taskToken"], second["taskToken"], "the retry is a new task")
        self.assertEqual(
            error_code(SFN.send_task_success, taskToken=first["taskToken"], output="{}"),
            "TaskTimedOut",
        )
        SFN.send_task_success(taskToken=second["taskToken"], output=json.dumps({"done": 1}))
        done = wait_for(run)
        self.assertEqual(done["status"], "SUCCEEDED")
        types = history_types(run)
        self.assertEqual(types.count("ActivityTimedOut"), 1, types)
        self.assertEqual(types.count("ActivityStarted"), 2, types)
        timed_out = [
            e for e in SFN.get_execution_history(executionArn=run)["events"]
            if e["type"] == "ActivityTimedOut"
        ]
        self.assertEqual(timed_out[0]["activityTimedOutEventDetails"]["error"], "States.HeartbeatTimeout")

    def test_bad_tokens_and_failures(self):
        self.assertEqual(
            error_code(SFN.send_task_success, taskToken="garbage", output="{}"), "InvalidToken"
        )
        activity = SFN.create_activity(name=unique("judge"))["activityArn"]
        machine = create(
            unique("judged"),
            {"StartAt": "Judge", "States": {"Judge": {"Type": "Task", "Resource": activity, "End": True}}},
        )
        run = SFN.start_execution(stateMachineArn=machine)["executionArn"]
        task = SFN.get_activity_task(activityArn=activity)
        self.assertEqual(
            error_code(SFN.send_task_success, taskToken=task["taskToken"], output="{oops"),
            "InvalidOutput",
        )
        SFN.send_task_failure(taskToken=task["taskToken"], error="Rejected", cause="bad input")
        done = wait_for(run)
        self.assertEqual(done["status"], "FAILED")
        self.assertEqual((done["error"], done["cause"]), ("Rejected", "bad input"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
