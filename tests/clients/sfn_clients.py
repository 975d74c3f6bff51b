"""weir's Step Functions API driven by real AWS clients: boto3 and the AWS CLI.

Run by crates/cli/tests/clients.rs against a `weir server` it starts; WEIR_ENDPOINT names it.
Expected values follow AWS's API reference (shapes, error codes), not weir's output.
"""

import datetime
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

ENDPOINT = os.environ["WEIR_ENDPOINT"]
ROLE = "arn:aws:iam::000000000000:role/pipeline"
ACCOUNT_PREFIX = "arn:aws:states:us-east-1:000000000000"


def client():
    # inject_host_prefix=False: boto3 would otherwise send StartSyncExecution and TestState to
    # the host "sync-127.0.0.1", which does not resolve.
    return boto3.client(
        "stepfunctions",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDWEIRTEST",
        aws_secret_access_key="secret",
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


SFN = client()
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.p", "End": True}}}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}


def unique(prefix):
    return f"{prefix}-{time.time_ns()}"


def create(name, definition, kind="STANDARD"):
    return SFN.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, type=kind
    )["stateMachineArn"]


def wait_for(arn, status="SUCCEEDED", seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = SFN.describe_execution(executionArn=arn)
        if found["status"] != "RUNNING":
            assert found["status"] == status, found
            return found
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running after {seconds}s")


def error_code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except SFN.exceptions.ClientError as error:
        return error.response["Error"]["Code"], error.response["Error"]["Message"]
    raise AssertionError("the call should have failed")


class StateMachines(unittest.TestCase):
    def test_create_describe_update_list_delete(self):
        name = unique("machine")
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
        created = SFN.create_state_machine(name=name, definition=json.dumps(PASS), roleArn=ROLE)
        arn = created["stateMachineArn"]
        self.assertEqual(arn, f"{ACCOUNT_PREFIX}:stateMachine:{name}")
        self.assertGreater(created["creationDate"], before)

        described = SFN.describe_state_machine(stateMachineArn=arn)
        self.assertEqual(described["stateMachineArn"], arn)
        self.assertEqual(described["name"], name)
        self.assertEqual(described["status"], "ACTIVE")
        self.assertEqual(json.loads(described["definition"]), PASS)
        self.assertEqual(described["roleArn"], ROLE)
        self.assertEqual(described["type"], "STANDARD")
        self.assertEqual(described["creationDate"], created["creationDate"])
        self.assertEqual(described["loggingConfiguration"]["level"], "OFF")

        # Creating the same machine again is idempotent; another definition under the name is not.
        again = SFN.create_state_machine(name=name, definition=json.dumps(PASS), roleArn=ROLE)
        self.assertEqual(again["stateMachineArn"], arn)
        code, _ = error_code(
            SFN.create_state_machine, name=name, definition=json.dumps(WAIT), roleArn=ROLE
        )
        self.assertEqual(code, "StateMachineAlreadyExists")

        updated = SFN.update_state_machine(stateMachineArn=arn, definition=json.dumps(WAIT))
        self.assertIsInstance(updated["updateDate"], datetime.datetime)
        self.assertNotEqual(updated["revisionId"], described["revisionId"])
        self.assertEqual(
            json.loads(SFN.describe_state_machine(stateMachineArn=arn)["definition"]), WAIT
        )

        listed = []
        token = None
        while True:
            kwargs = {"maxResults": 1}
            if token:
                kwargs["nextToken"] = token
            page = SFN.list_state_machines(**kwargs)
            self.assertLessEqual(len(page["stateMachines"]), 1)
            listed.extend(page["stateMachines"])
            token = page.get("nextToken")
            if not token:
                break
        mine = [m for m in listed if m["stateMachineArn"] == arn]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["name"], name)
        self.assertEqual(mine[0]["type"], "STANDARD")

        SFN.delete_state_machine(stateMachineArn=arn)
        code, _ = error_code(SFN.describe_state_machine, stateMachineArn=arn)
        self.assertEqual(code, "StateMachineDoesNotExist")

    def test_bad_requests_get_aws_error_codes(self):
        code, message = error_code(
            SFN.create_state_machine,
            name=unique("bad"),
            definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
            roleArn=ROLE,
        )
        self.assertEqual(code, "InvalidDefinition")
        self.assertIn("/States/A", message)
        code, _ = error_code(
            SFN.create_state_machine, name="has space", definition=json.dumps(PASS), roleArn=ROLE
        )
        self.assertEqual(code, "InvalidName")
        code, _ = error_code(SFN.describe_state_machine, stateMachineArn="arn:aws:states:nope")
        self.assertEqual(code, "InvalidArn")
        code, _ = error_code(
            SFN.describe_state_machine, stateMachineArn=f"{ACCOUNT_PREFIX}:stateMachine:missing"
        )
        self.assertEqual(code, "StateMachineDoesNotExist")
        code, _ = error_code(SFN.list_state_machines, nextToken="not-a-token")
        self.assertEqual(code, "InvalidToken")
        # AWS's length constraints: a definition over 1 MiB, an input over 256 KiB.
        big = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "x" * (1024 * 1024),
                                                "End": True}}}
        code, message = error_code(
            SFN.create_state_machine, name=unique("big"), definition=json.dumps(big), roleArn=ROLE
        )
        self.assertEqual(code, "ValidationException")
        self.assertIn("'definition'", message)
        arn = create(unique("small"), PASS)
        code, message = error_code(
            SFN.start_execution, stateMachineArn=arn, input=json.dumps({"x": "y" * 262144})
        )
        self.assertEqual(code, "ValidationException")
        self.assertIn("'input'", message)


class Executions(unittest.TestCase):
    def test_start_describe_history_and_list(self):
        arn = create(unique("exec"), PASS)
        started = SFN.start_execution(stateMachineArn=arn, name="first", input='{"n": 1}')
        execution = started["executionArn"]
        self.assertEqual(execution, arn.replace(":stateMachine:", ":execution:") + ":first")
        self.assertIsInstance(started["startDate"], datetime.datetime)

        done = wait_for(execution)
        self.assertEqual(done["stateMachineArn"], arn)
        self.assertEqual(done["name"], "first")
        self.assertEqual(json.loads(done["input"]), {"n": 1})
        self.assertEqual(json.loads(done["output"]), {"n": 1, "p": {"ok": True}})
        self.assertGreaterEqual(done["stopDate"], done["startDate"])
        self.assertEqual(done["redriveStatus"], "NOT_REDRIVABLE")

        events = SFN.get_execution_history(executionArn=execution)["events"]
        self.assertEqual(
            [e["type"] for e in events],
            ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"],
        )
        self.assertEqual([e["id"] for e in events], [1, 2, 3, 4])
        self.assertEqual([e["previousEventId"] for e in events], [0, 1, 2, 3])
        self.assertEqual(json.loads(events[0]["executionStartedEventDetails"]["input"]), {"n": 1})
        self.assertEqual(events[0]["executionStartedEventDetails"]["roleArn"], ROLE)
        self.assertEqual(events[1]["stateEnteredEventDetails"]["name"], "P")
        self.assertEqual(
            json.loads(events[3]["executionSucceededEventDetails"]["output"]),
            {"n": 1, "p": {"ok": True}},
        )

        # Paging through the history two at a time, and in reverse.
        page = SFN.get_execution_history(executionArn=execution, maxResults=2)
        self.assertEqual([e["id"] for e in page["events"]], [1, 2])
        page = SFN.get_execution_history(
            executionArn=execution, maxResults=2, nextToken=page["nextToken"]
        )
        self.assertEqual([e["id"] for e in page["events"]], [3, 4])
        self.assertNotIn("nextToken", page)
        reverse = SFN.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=3)
        self.assertEqual([e["id"] for e in reverse["events"]], [4, 3, 2])

        for i in range(3):
            wait_for(SFN.start_execution(stateMachineArn=arn, name=f"more-{i}")["executionArn"])
        names = []
        token = None
        while True:
            kwargs = {"stateMachineArn": arn, "maxResults": 2, "statusFilter": "SUCCEEDED"}
            if token:
                kwargs["nextToken"] = token
            page = SFN.list_executions(**kwargs)
            names.extend(e["name"] for e in page["executions"])
            token = page.get("nextToken")
            if not token:
                break
        self.assertEqual(names, ["more-2", "more-1", "more-0", "first"])
        self.assertEqual(
            SFN.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"], []
        )

        machine = SFN.describe_state_machine_for_execution(executionArn=execution)
        self.assertEqual(machine["stateMachineArn"], arn)
        self.assertEqual(json.loads(machine["definition"]), PASS)

    def test_idempotent_start_and_stop(self):
        arn = create(unique("wait"), WAIT)
        first = SFN.start_execution(stateMachineArn=arn, name="once", input="{}")
        again = SFN.start_execution(stateMachineArn=arn, name="once", input="{}")
        self.assertEqual(first["executionArn"], again["executionArn"])
        code, _ = error_code(SFN.start_execution, stateMachineArn=arn, name="once", input='{"x":1}')
        self.assertEqual(code, "ExecutionAlreadyExists")
        code, _ = error_code(SFN.start_execution, stateMachineArn=arn, input="{not json")
        self.assertEqual(code, "InvalidExecutionInput")

        stopped = SFN.stop_execution(executionArn=first["executionArn"], error="Op", cause="manual")
        self.assertIsInstance(stopped["stopDate"], datetime.datetime)
        described = SFN.describe_execution(executionArn=first["executionArn"])
        self.assertEqual(described["status"], "ABORTED")
        self.assertEqual(described["error"], "Op")
        self.assertEqual(described["cause"], "manual")
        events = SFN.get_execution_history(executionArn=first["executionArn"])["events"]
        self.assertEqual(events[-1]["type"], "ExecutionAborted")
        code, _ = error_code(
            SFN.describe_execution, executionArn=first["executionArn"] + "-missing"
        )
        self.assertEqual(code, "ExecutionDoesNotExist")

    def test_redrive(self):
        arn = create(unique("fail"), FAIL)
        execution = SFN.start_execution(stateMachineArn=arn)["executionArn"]
        failed = wait_for(execution, "FAILED")
        self.assertEqual(failed["error"], "Broken")
        self.assertEqual(failed["redriveStatus"], "REDRIVABLE")
        redriven = SFN.redrive_execution(executionArn=execution)
        self.assertIsInstance(redriven["redriveDate"], datetime.datetime)
        again = wait_for(execution, "FAILED")
        self.assertEqual(again["redriveCount"], 1)
        types = [e["type"] for e in SFN.get_execution_history(executionArn=execution)["events"]]
        self.assertEqual(types.count("ExecutionRedriven"), 1)
        ok = SFN.start_execution(stateMachineArn=create(unique("ok"), PASS))["executionArn"]
        wait_for(ok)
        code, message = error_code(SFN.redrive_execution, executionArn=ok)
        self.assertEqual(code, "ExecutionNotRedrivable")
        self.assertIn("SUCCEEDED", message)

    def test_express_runs_synchronously(self):
        arn = create(unique("express"), PASS, kind="EXPRESS")
        answer = SFN.start_sync_execution(stateMachineArn=arn, name="sync-1", input='{"a": 2}')
        self.assertEqual(answer["status"], "SUCCEEDED")
        self.assertEqual(answer["name"], "sync-1")
        self.assertEqual(answer["stateMachineArn"], arn)
        self.assertTrue(answer["executionArn"].startswith(f"{ACCOUNT_PREFIX}:express:"))
        self.assertEqual(json.loads(answer["output"]), {"a": 2, "p": {"ok": True}})
        self.assertGreaterEqual(answer["stopDate"], answer["startDate"])
        failed = SFN.start_sync_execution(stateMachineArn=create(unique("xfail"), FAIL, "EXPRESS"))
        self.assertEqual(failed["status"], "FAILED")
        self.assertEqual((failed["error"], failed["cause"]), ("Broken", "on purpose"))
        code, _ = error_code(SFN.start_sync_execution, stateMachineArn=create(unique("std"), PASS))
        self.assertEqual(code, "StateMachineTypeNotSupported")


class Tools(unittest.TestCase):
    def test_validate_state_machine_definition(self):
        ok = SFN.validate_state_machine_definition(definition=json.dumps(PASS))
        self.assertEqual((ok["result"], ok["diagnostics"]), ("OK", []))
        bad = SFN.validate_state_machine_definition(
            definition=json.dumps({"StartAt": "X", "States": {"A": {"Type": "Succeed"}}})
        )
        self.assertEqual(bad["result"], "FAIL")
        self.assertTrue(all(d["severity"] == "ERROR" for d in bad["diagnostics"]))
        self.assertIn("/StartAt", [d.get("location") for d in bad["diagnostics"]])

    def test_test_state(self):
        state = {"Type": "Pass", "Parameters": {"v.$": "$.x"}, "ResultPath": "$.out", "End": True}
        answer = SFN.test_state(
            definition=json.dumps(state), input='{"x": 5}', inspectionLevel="DEBUG"
        )
        self.assertEqual(answer["status"], "SUCCEEDED")
        self.assertEqual(json.loads(answer["output"]), {"x": 5, "out": {"v": 5}})
        self.assertEqual(json.loads(answer["inspectionData"]["afterParameters"]), {"v": 5})


class VersionsAliasesTags(unittest.TestCase):
    def test_versions_and_aliases_route_executions(self):
        name = unique("versioned")
        created = SFN.create_state_machine(
            name=name, definition=json.dumps(PASS), roleArn=ROLE, publish=True,
            versionDescription="first",
        )
        arn = created["stateMachineArn"]
        v1 = created["stateMachineVersionArn"]
        self.assertEqual(v1, f"{arn}:1")
        # Publishing the same revision again returns the same version.
        again = SFN.publish_state_machine_version(stateMachineArn=arn)
        self.assertEqual(again["stateMachineVersionArn"], v1)
        second = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "v2", "End": True}}}
        updated = SFN.update_state_machine(
            stateMachineArn=arn, definition=json.dumps(second), publish=True
        )
        v2 = updated["stateMachineVersionArn"]
        self.assertEqual(v2, f"{arn}:2")
        versions = SFN.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
        self.assertEqual([v["stateMachineVersionArn"] for v in versions], [v2, v1])
        described = SFN.describe_state_machine(stateMachineArn=v1)
        self.assertEqual(json.loads(described["definition"]), PASS)
        self.assertEqual(described["description"], "first")

        # An execution on version 1 runs version 1's definition, whatever the latest is.
        run = SFN.start_execution(stateMachineArn=v1, input="{}")["executionArn"]
        done = wait_for(run)
        self.assertEqual(json.loads(done["output"]), {"p": {"ok": True}})
        self.assertEqual(done["stateMachineVersionArn"], v1)
        self.assertNotIn("stateMachineAliasArn", done)

        alias = SFN.create_state_machine_alias(
            name="live", routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}],
            description="production",
        )["stateMachineAliasArn"]
        self.assertEqual(alias, f"{arn}:live")
        run = SFN.start_execution(stateMachineArn=alias, input="{}")["executionArn"]
        done = wait_for(run)
        self.assertEqual(json.loads(done["output"]), "v2")
        self.assertEqual(done["stateMachineAliasArn"], alias)
        self.assertEqual(done["stateMachineVersionArn"], v2)
        SFN.update_state_machine_alias(
            stateMachineAliasArn=alias,
            routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}],
        )
        described = SFN.describe_state_machine_alias(stateMachineAliasArn=alias)
        self.assertEqual(described["name"], "live")
        self.assertEqual(described["description"], "production")
        self.assertEqual(
            described["routingConfiguration"], [{"stateMachineVersionArn": v1, "weight": 100}]
        )
        run = SFN.start_execution(stateMachineArn=alias, input="{}")["executionArn"]
        self.assertEqual(json.loads(wait_for(run)["output"]), {"p": {"ok": True}})
        aliases = SFN.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"]
        self.assertEqual([a["stateMachineAliasArn"] for a in aliases], [alias])

        code, _ = error_code(SFN.delete_state_machine_version, stateMachineVersionArn=v1)
        self.assertEqual(code, "ConflictException")
        code, _ = error_code(
            SFN.create_state_machine_alias,
            name="bad", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 50}],
        )
        self.assertEqual(code, "ValidationException")
        SFN.delete_state_machine_alias(stateMachineAliasArn=alias)
        SFN.delete_state_machine_version(stateMachineVersionArn=v2)
        versions = SFN.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
        self.assertEqual([v["stateMachineVersionArn"] for v in versions], [v1])

    def test_tags(self):
        arn = SFN.create_state_machine(
            name=unique("tagged"), definition=json.dumps(PASS), roleArn=ROLE,
            tags=[{"key": "team", "value": "data"}],
        )["stateMachineArn"]
        SFN.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"},
                                                {"key": "team", "value": "ingest"}])
        tags = SFN.list_tags_for_resource(resourceArn=arn)["tags"]
        self.assertEqual(
            sorted((t["key"], t["value"]) for t in tags), [("env", "prod"), ("team", "ingest")]
        )
        SFN.untag_resource(resourceArn=arn, tagKeys=["env"])
        self.assertEqual(
            SFN.list_tags_for_resource(resourceArn=arn)["tags"], [{"key": "team", "value": "ingest"}]
        )
        code, _ = error_code(
            SFN.list_tags_for_resource, resourceArn=f"{ACCOUNT_PREFIX}:stateMachine:nope"
        )
        self.assertEqual(code, "StateMachineDoesNotExist")


class MapRuns(unittest.TestCase):
    def test_list_describe_and_update_a_map_run(self):
        distributed = {"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "End": True,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}}}}
        arn = create(unique("dmap"), distributed)
        execution = SFN.start_execution(
            stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3, 4]})
        )["executionArn"]
        runs = SFN.list_map_runs(executionArn=execution)["mapRuns"]
        self.assertEqual(len(runs), 1)
        run = runs[0]
        self.assertEqual(run["executionArn"], execution)
        self.assertEqual(run["stateMachineArn"], arn)
        self.assertIn(":mapRun:", run["mapRunArn"])
        described = SFN.describe_map_run(mapRunArn=run["mapRunArn"])
        self.assertEqual(described["status"], "RUNNING")
        self.assertEqual(described["maxConcurrency"], 1)
        counts = described["itemCounts"]
        self.assertEqual(counts["total"], 4)
        self.assertEqual(counts["running"], 1)
        self.assertEqual(counts["pending"], 3)
        # Lifting the limit lets the other three items run at once.
        SFN.update_map_run(mapRunArn=run["mapRunArn"], maxConcurrency=0)
        running = SFN.describe_map_run(mapRunArn=run["mapRunArn"])
        self.assertEqual(running["maxConcurrency"], 0)
        started = time.time()
        wait_for(execution)
        self.assertLess(time.time() - started, 3.5, "the items ran together after the update")
        done = SFN.describe_map_run(mapRunArn=run["mapRunArn"])
        self.assertEqual(done["status"], "SUCCEEDED")
        self.assertEqual(done["itemCounts"]["succeeded"], 4)
        self.assertEqual(done["itemCounts"]["pending"], 0)
        self.assertGreaterEqual(done["stopDate"], done["startDate"])
        code, _ = error_code(SFN.update_map_run, mapRunArn=run["mapRunArn"], maxConcurrency=2)
        self.assertEqual(code, "ValidationException")
        code, _ = error_code(SFN.describe_map_run, mapRunArn=run["mapRunArn"] + "x")
        self.assertEqual(code, "ResourceNotFound")


def raw(target, body):
    request = urllib.request.Request(
        ENDPOINT,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Protocol(unittest.TestCase):
    def test_malformed_requests_get_clear_errors(self):
        status, body = raw("AWSStepFunctions.ListStateMachines", b"{not json")
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        status, body = raw("AWSStepFunctions.NoSuchThing", b"{}")
        self.assertEqual((status, body["__type"]), (400, "UnknownOperationException"))
        status, body = raw("AWSStepFunctions.DescribeStateMachine", b'{"stateMachineArn": 5}')
        self.assertEqual((status, body["__type"]), (400, "SerializationException"))
        self.assertIn("stateMachineArn", body["message"])
        status, body = raw("AWSStepFunctions.DescribeStateMachine", b"{}")
        self.assertEqual((status, body["__type"]), (400, "ValidationException"))
        status, body = raw("AWSStepFunctions.ListStateMachines", b"x" * (3 * 1024 * 1024))
        self.assertEqual(status, 413)
        # The server still answers after all that.
        status, body = raw("AWSStepFunctions.ListStateMachines", b"{}")
        self.assertEqual(status, 200)


def aws_cli(*args):
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="AKIDWEIRTEST",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_DEFAULT_REGION="us-east-1",
        # The SDK-wide switch that keeps StartSyncExecution off the "sync-" host.
        AWS_DISABLE_HOST_PREFIX_INJECTION="true",
    )
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "stepfunctions", *args, "--endpoint-url", ENDPOINT,
         "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return out


class AwsCli(unittest.TestCase):
    def test_the_aws_cli_runs_a_machine(self):
        name = unique("cli")
        out = aws_cli("create-state-machine", "--name", name, "--definition", json.dumps(PASS),
                      "--role-arn", ROLE)
        self.assertEqual(out.returncode, 0, out.stderr)
        arn = json.loads(out.stdout)["stateMachineArn"]
        out = aws_cli("start-execution", "--state-machine-arn", arn, "--input", '{"cli": true}')
        self.assertEqual(out.returncode, 0, out.stderr)
        execution = json.loads(out.stdout)["executionArn"]
        wait_for(execution)
        out = aws_cli("describe-execution", "--execution-arn", execution)
        self.assertEqual(out.returncode, 0, out.stderr)
        described = json.loads(out.stdout)
        self.assertEqual(described["status"], "SUCCEEDED")
        self.assertEqual(json.loads(described["output"]), {"cli": True, "p": {"ok": True}})
        # The CLI pages by itself: --max-items below the page size still lists everything asked.
        out = aws_cli("get-execution-history", "--execution-arn", execution, "--page-size", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(json.loads(out.stdout)["events"]), 4)
        express = aws_cli("create-state-machine", "--name", name + "-x", "--type", "EXPRESS",
                          "--definition", json.dumps(PASS), "--role-arn", ROLE)
        self.assertEqual(express.returncode, 0, express.stderr)
        out = aws_cli("start-sync-execution", "--state-machine-arn",
                      json.loads(express.stdout)["stateMachineArn"], "--input", '{"s": 1}')
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(json.loads(out.stdout)["output"]), {"s": 1, "p": {"ok": True}})
        out = aws_cli("describe-state-machine", "--state-machine-arn", arn + "-missing")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("StateMachineDoesNotExist", out.stderr)


class AwsCliEveryOperation(unittest.TestCase):
    """The AWS CLI drives every operation weir serves, once each, checking the answers."""

    def cli(self, *args):
        out = aws_cli(*args)
        self.assertEqual(out.returncode, 0, f"{args[0]}: {out.stderr} {out.stdout}")
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def test_every_operation(self):
        name = unique("cli-all")
        arn = self.cli("create-state-machine", "--name", name, "--definition", json.dumps(PASS),
                       "--role-arn", ROLE)["stateMachineArn"]
        self.assertEqual(self.cli("describe-state-machine", "--state-machine-arn", arn)["name"],
                         name)
        updated = self.cli("update-state-machine", "--state-machine-arn", arn, "--definition",
                           json.dumps(FAIL), "--publish")
        v1 = updated["stateMachineVersionArn"]
        listed = self.cli("list-state-machines")["stateMachines"]
        self.assertIn(arn, [m["stateMachineArn"] for m in listed])
        self.cli("update-state-machine", "--state-machine-arn", arn, "--definition",
                 json.dumps(PASS))
        v2 = self.cli("publish-state-machine-version", "--state-machine-arn", arn,
                      "--description", "second")["stateMachineVersionArn"]
        versions = self.cli("list-state-machine-versions", "--state-machine-arn", arn)
        self.assertEqual([v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]],
                         [v2, v1])
        alias = self.cli("create-state-machine-alias", "--name", "live", "--routing-configuration",
                         json.dumps([{"stateMachineVersionArn": v1, "weight": 100}])
                         )["stateMachineAliasArn"]
        self.assertEqual(self.cli("describe-state-machine-alias", "--state-machine-alias-arn",
                                  alias)["name"], "live")
        self.cli("update-state-machine-alias", "--state-machine-alias-arn", alias,
                 "--description", "production")
        aliases = self.cli("list-state-machine-aliases", "--state-machine-arn", arn)
        self.assertEqual([a["stateMachineAliasArn"] for a in aliases["stateMachineAliases"]],
                         [alias])
        # Version 1 fails on purpose: redrive and describe it.
        failed = self.cli("start-execution", "--state-machine-arn", alias)["executionArn"]
        wait_for(failed, "FAILED")
        self.assertEqual(self.cli("describe-execution", "--execution-arn", failed)["error"],
                         "Broken")
        self.assertEqual(json.loads(self.cli("describe-state-machine-for-execution",
                                             "--execution-arn", failed)["definition"]), FAIL)
        self.assertIn("redriveDate", self.cli("redrive-execution", "--execution-arn", failed))
        wait_for(failed, "FAILED")
        history = self.cli("get-execution-history", "--execution-arn", failed)["events"]
        self.assertIn("ExecutionRedriven", [e["type"] for e in history])
        waiting = self.cli("create-state-machine", "--name", name + "-wait", "--definition",
                           json.dumps(WAIT), "--role-arn", ROLE)["stateMachineArn"]
        running = self.cli("start-execution", "--state-machine-arn", waiting)["executionArn"]
        runs = self.cli("list-executions", "--state-machine-arn", waiting, "--status-filter",
                        "RUNNING")["executions"]
        self.assertEqual([e["executionArn"] for e in runs], [running])
        self.assertIn("stopDate", self.cli("stop-execution", "--execution-arn", running))
        express = self.cli("create-state-machine", "--name", name + "-x", "--type", "EXPRESS",
                           "--definition", json.dumps(PASS), "--role-arn", ROLE
                           )["stateMachineArn"]
        self.assertEqual(self.cli("start-sync-execution", "--state-machine-arn", express
                                  )["status"], "SUCCEEDED")
        self.assertEqual(self.cli("validate-state-machine-definition", "--definition",
                                  json.dumps(PASS))["result"], "OK")
        self.assertEqual(self.cli("test-state", "--definition",
                                  json.dumps({"Type": "Pass", "End": True}), "--input", "{}"
                                  )["status"], "SUCCEEDED")
        distributed = {"StartAt": "M", "States": {"M": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "End": True,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}}}}
        mapper = self.cli("create-state-machine", "--name", name + "-map", "--definition",
                          json.dumps(distributed), "--role-arn", ROLE)["stateMachineArn"]
        # Eight one-second items one at a time: still running while the CLI calls below run.
        mapping = self.cli("start-execution", "--state-machine-arn", mapper, "--input",
                           json.dumps({"items": list(range(8))}))["executionArn"]
        run = self.cli("list-map-runs", "--execution-arn", mapping)["mapRuns"][0]["mapRunArn"]
        self.assertEqual(self.cli("describe-map-run", "--map-run-arn", run)["itemCounts"]["total"],
                         8)
        self.cli("update-map-run", "--map-run-arn", run, "--max-concurrency", "8")
        wait_for(mapping)
        self.cli("tag-resource", "--resource-arn", arn, "--tags", "key=team,value=data")
        self.assertEqual(self.cli("list-tags-for-resource", "--resource-arn", arn)["tags"],
                         [{"key": "team", "value": "data"}])
        self.cli("untag-resource", "--resource-arn", arn, "--tag-keys", "team")
        self.assertEqual(self.cli("list-tags-for-resource", "--resource-arn", arn)["tags"], [])
        self.cli("delete-state-machine-alias", "--state-machine-alias-arn", alias)
        self.cli("delete-state-machine-version", "--state-machine-version-arn", v1)
        self.cli("delete-state-machine", "--state-machine-arn", arn)
        out = aws_cli("describe-state-machine", "--state-machine-arn", arn)
        self.assertIn("StateMachineDoesNotExist", out.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
