"""weir's durable queues driven by boto3 as applications drive Amazon SQS.

Run by crates/cli/tests/clients.rs against a `weir server` it starts; WEIR_ENDPOINT names it.
boto3 speaks SQS's JSON protocol (`X-Amz-Target: AmazonSQS.<Op>`); an error is raised as the
modelled exception (`sqs.exceptions.QueueDoesNotExist`) and reported with SQS's query code
(`AWS.SimpleQueueService.NonExistentQueue`), which the server sends in `x-amzn-query-error`.
Expected values follow AWS's SQS API reference and developer guide (codes, statuses, defaults,
the MD5 digests SQS documents, visibility, delay, dead-letter, move-task and FIFO rules), not
weir's output. Timeouts are kept to a second or two so the suite runs quickly.
"""

import hashlib
import json
import os
import struct
import threading
import time
import unittest
import uuid

import boto3
from botocore.config import Config

ENDPOINT = os.environ["WEIR_ENDPOINT"]
REGION = "us-east-1"
ACCOUNT = "000000000000"


def client():
    # Long polls last up to 20 seconds: the read timeout must be longer.
    return boto3.client(
        "sqs",
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="AKIDWEIRTEST",
        aws_secret_access_key="secret",
        config=Config(read_timeout=40, retries={"max_attempts": 1}),
    )


SQS = client()
# The exceptions boto3 raises for SQS's modelled errors.
ERRORS = SQS.exceptions


def unique(prefix):
    return f"{prefix}-{time.time_ns()}"


def create(name, **attributes):
    return SQS.create_queue(
        QueueName=name, Attributes={k: str(v) for k, v in attributes.items()}
    )["QueueUrl"]


def attribute(url, name):
    return SQS.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name]


def arn_of(url):
    return attribute(url, "QueueArn")


def receive(url, **kwargs):
    kwargs.setdefault("WaitTimeSeconds", 0)
    return SQS.receive_message(QueueUrl=url, **kwargs).get("Messages", [])


def failure(call, **kwargs):
    """The ClientError a call raises."""
    try:
        call(**kwargs)
    except ERRORS.ClientError as error:
        return error
    raise AssertionError(f"{call.__name__} should have failed")


def code_and_status(error):
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def wait_until(predicate, seconds=10, what="the condition"):
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} did not hold within {seconds}s")


def md5(data):
    return hashlib.md5(data).hexdigest()


def md5_of_attributes(attributes):
    """MD5OfMessageAttributes as the SQS developer guide defines it: attributes sorted by name,
    each encoded as name, data type, transport type (1 string, 2 binary) and value, every part
    but the transport type preceded by its length as 4 big-endian bytes."""

    def part(data):
        return struct.pack(">I", len(data)) + data

    encoded = b""
    for name in sorted(attributes):
        value = attributes[name]
        encoded += part(name.encode()) + part(value["DataType"].encode())
        if "StringValue" in value:
            encoded += b"\x01" + part(value["StringValue"].encode())
        else:
            encoded += b"\x02" + part(value["BinaryValue"])
    return md5(encoded)


class Case(unittest.TestCase):
    def assertRefused(self, error, code, status=400, exception=None, message=None):
        """An error as SQS's reference gives it: the code boto3 reports (SQS's query code), the
        HTTP status and, for a modelled error, the exception boto3 raises."""
        self.assertEqual(code_and_status(error), (code, status), message)
        if exception is not None:
            self.assertIsInstance(error, exception, message)


class Queues(Case):
    def test_create_get_list_and_delete(self):
        name = unique("orders")
        url = create(name, VisibilityTimeout=45)
        self.assertEqual(url, f"{ENDPOINT}/{ACCOUNT}/{name}")
        # Creating it again with the same attributes returns it; with others it is refused.
        self.assertEqual(create(name, VisibilityTimeout=45), url)
        error = failure(SQS.create_queue, QueueName=name, Attributes={"VisibilityTimeout": "46"})
        self.assertRefused(error, "QueueAlreadyExists", exception=ERRORS.QueueNameExists)
        self.assertEqual(SQS.get_queue_url(QueueName=name)["QueueUrl"], url)
        self.assertIn(url, SQS.list_queues(QueueNamePrefix=name)["QueueUrls"])
        SQS.delete_queue(QueueUrl=url)
        error = failure(SQS.get_queue_url, QueueName=name)
        self.assertRefused(
            error, "AWS.SimpleQueueService.NonExistentQueue", exception=ERRORS.QueueDoesNotExist
        )
        self.assertEqual(error.response["Error"]["Type"], "Sender")
        self.assertNotIn("QueueUrls", SQS.list_queues(QueueNamePrefix=name))
        error = failure(SQS.send_message, QueueUrl=url, MessageBody="late")
        self.assertIsInstance(error, ERRORS.QueueDoesNotExist)

    def test_a_queue_of_another_account_does_not_exist(self):
        name = unique("mine")
        url = create(name)
        error = failure(SQS.get_queue_url, QueueName=name, QueueOwnerAWSAccountId="111122223333")
        self.assertIsInstance(error, ERRORS.QueueDoesNotExist)
        error = failure(SQS.get_queue_attributes, QueueUrl=url.replace(ACCOUNT, "111122223333"))
        self.assertIsInstance(error, ERRORS.QueueDoesNotExist)

    def test_names_are_checked(self):
        for bad in ["has space", "x" * 81, "dots.are.bad"]:
            error = failure(SQS.create_queue, QueueName=bad)
            self.assertRefused(error, "InvalidParameterValue", message=bad)
        # FifoQueue needs the .fifo suffix, and .fifo queues are FIFO queues.
        error = failure(
            SQS.create_queue, QueueName=unique("plain"), Attributes={"FifoQueue": "true"}
        )
        self.assertEqual(code_and_status(error)[1], 400)
        fifo = create(unique("ordered") + ".fifo", FifoQueue="true")
        self.assertEqual(attribute(fifo, "FifoQueue"), "true")

    def test_list_queues_pages_with_max_results(self):
        prefix = unique("paged")
        urls = {create(f"{prefix}-{i}") for i in range(5)}
        self.assertNotIn("NextToken", SQS.list_queues(QueueNamePrefix=prefix))
        seen, token, pages = [], None, 0
        while True:
            kwargs = {"QueueNamePrefix": prefix, "MaxResults": 2}
            if token:
                kwargs["NextToken"] = token
            page = SQS.list_queues(**kwargs)
            pages += 1
            self.assertLessEqual(len(page["QueueUrls"]), 2)
            seen += page["QueueUrls"]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen), sorted(urls))
        paginated = SQS.get_paginator("list_queues").paginate(
            QueueNamePrefix=prefix, PaginationConfig={"PageSize": 2}
        )
        self.assertEqual(sorted(u for p in paginated for u in p["QueueUrls"]), sorted(urls))
        error = failure(SQS.list_queues, MaxResults=1001)
        self.assertRefused(error, "InvalidParameterValue")

    def test_attributes_round_trip(self):
        name = unique("attrs")
        url = create(name)
        defaults = SQS.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        # The developer guide's defaults.
        for key, value in {
            "DelaySeconds": "0",
            "MessageRetentionPeriod": "345600",
            "ReceiveMessageWaitTimeSeconds": "0",
            "VisibilityTimeout": "30",
            "ApproximateNumberOfMessages": "0",
            "ApproximateNumberOfMessagesNotVisible": "0",
            "ApproximateNumberOfMessagesDelayed": "0",
            "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        }.items():
            self.assertEqual(defaults[key], value, key)
        self.assertTrue(defaults["CreatedTimestamp"].isdigit())
        self.assertTrue(defaults["LastModifiedTimestamp"].isdigit())
        wanted = {
            "DelaySeconds": "5",
            "MaximumMessageSize": "2048",
            "MessageRetentionPeriod": "86400",
            "ReceiveMessageWaitTimeSeconds": "2",
            "VisibilityTimeout": "60",
        }
        SQS.set_queue_attributes(QueueUrl=url, Attributes=wanted)
        got = SQS.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted))["Attributes"]
        self.assertEqual(got, wanted)
        only = SQS.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
        self.assertEqual(only["Attributes"], {"VisibilityTimeout": "60"})
        self.assertNotIn("Attributes", SQS.get_queue_attributes(QueueUrl=url))
        error = failure(SQS.get_queue_attributes, QueueUrl=url, AttributeNames=["Colour"])
        self.assertRefused(error, "InvalidAttributeName", exception=ERRORS.InvalidAttributeName)
        error = failure(SQS.set_queue_attributes, QueueUrl=url, Attributes={"Colour": "blue"})
        self.assertIsInstance(error, ERRORS.InvalidAttributeName)
        error = failure(
            SQS.set_queue_attributes, QueueUrl=url, Attributes={"VisibilityTimeout": "43201"}
        )
        self.assertRefused(error, "InvalidAttributeValue", exception=ERRORS.InvalidAttributeValue)

    def test_tags(self):
        url = SQS.create_queue(QueueName=unique("tagged"), tags={"team": "data", "env": "dev"})[
            "QueueUrl"
        ]
        self.assertEqual(SQS.list_queue_tags(QueueUrl=url)["Tags"], {"team": "data", "env": "dev"})
        SQS.tag_queue(QueueUrl=url, Tags={"env": "prod", "cost": "42"})
        self.assertEqual(
            SQS.list_queue_tags(QueueUrl=url)["Tags"], {"team": "data", "env": "prod", "cost": "42"}
        )
        SQS.untag_queue(QueueUrl=url, TagKeys=["team", "cost", "absent"])
        self.assertEqual(SQS.list_queue_tags(QueueUrl=url)["Tags"], {"env": "prod"})
        SQS.untag_queue(QueueUrl=url, TagKeys=["env"])
        self.assertNotIn("Tags", SQS.list_queue_tags(QueueUrl=url))

    def test_unsupported_operations(self):
        url = create(unique("private"))
        error = failure(
            SQS.add_permission,
            QueueUrl=url,
            Label="share",
            AWSAccountIds=["111122223333"],
            Actions=["SendMessage"],
        )
        self.assertRefused(
            error,
            "AWS.SimpleQueueService.UnsupportedOperation",
            exception=ERRORS.UnsupportedOperation,
        )


class Messages(Case):
    def test_send_receive_delete_with_the_documented_digests(self):
        url = create(unique("digests"))
        attributes = {
            "City": {"DataType": "String", "StringValue": "Any City"},
            "Count": {"DataType": "Number", "StringValue": "230.000000000000000001"},
            "Blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
            "Lang": {"DataType": "String.custom", "StringValue": "fr"},
        }
        body = "Information about current NY Times fiction bestseller for week of 12/11/2016."
        sent = SQS.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
        self.assertEqual(sent["MD5OfMessageBody"], md5(body.encode()))
        self.assertEqual(sent["MD5OfMessageAttributes"], md5_of_attributes(attributes))
        self.assertEqual(attribute(url, "ApproximateNumberOfMessages"), "1")
        [message] = receive(url, MessageAttributeNames=["All"])
        self.assertEqual(message["MessageId"], sent["MessageId"])
        self.assertEqual(message["Body"], body)
        self.assertEqual(message["MD5OfBody"], md5(body.encode()))
        self.assertEqual(message["MessageAttributes"], attributes)
        self.assertEqual(message["MD5OfMessageAttributes"], md5_of_attributes(attributes))
        self.assertEqual(attribute(url, "ApproximateNumberOfMessagesNotVisible"), "1")
        SQS.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        self.assertEqual(attribute(url, "ApproximateNumberOfMessagesNotVisible"), "0")
        self.assertEqual(receive(url), [])
        # Unicode outside the allowed set is refused.
        error = failure(SQS.send_message, QueueUrl=url, MessageBody="nul \u0000 here")
        self.assertRefused(error, "InvalidMessageContents", exception=ERRORS.InvalidMessageContents)

    def test_message_attribute_names_select_what_is_returned(self):
        url = create(unique("filters"), VisibilityTimeout=0)
        attributes = {
            "Help.Me": {"DataType": "String", "StringValue": "Me"},
            "Hello": {"DataType": "String", "StringValue": "There"},
            "General": {"DataType": "String", "StringValue": "Kenobi"},
        }
        SQS.send_message(QueueUrl=url, MessageBody="msg", MessageAttributes=attributes)
        cases = {
            (): set(),
            ("All",): {"Help.Me", "Hello", "General"},
            (".*",): {"Help.Me", "Hello", "General"},
            ("Hello", "General"): {"Hello", "General"},
            ("Foo", "Hello"): {"Hello"},
            ("Foo",): set(),
            ("Hel.*",): {"Hello", "Help.Me"},
        }
        for names, expected in cases.items():
            [message] = receive(url, MessageAttributeNames=list(names))
            returned = message.get("MessageAttributes", {})
            self.assertEqual(set(returned), expected, names)
            if expected:
                # The digest covers the attributes returned, not those sent.
                chosen = {k: attributes[k] for k in expected}
                self.assertEqual(message["MD5OfMessageAttributes"], md5_of_attributes(chosen))
            else:
                self.assertNotIn("MD5OfMessageAttributes", message)

    def test_system_attribute_names_select_what_is_returned(self):
        url = create(unique("system"), VisibilityTimeout=0)
        before = int(time.time() * 1000)
        SQS.send_message(QueueUrl=url, MessageBody="msg")
        [message] = receive(url)
        self.assertNotIn("Attributes", message)
        [message] = receive(url, MessageSystemAttributeNames=["SenderId"])
        self.assertEqual(set(message["Attributes"]), {"SenderId"})
        [message] = receive(url, AttributeNames=["All"])
        found = message["Attributes"]
        self.assertLessEqual(
            {
                "SenderId",
                "SentTimestamp",
                "ApproximateReceiveCount",
                "ApproximateFirstReceiveTimestamp",
            },
            set(found),
        )
        self.assertEqual(found["ApproximateReceiveCount"], "3")
        # Timestamps are epoch milliseconds.
        self.assertLessEqual(before - 5000, int(found["SentTimestamp"]))
        self.assertLessEqual(
            int(found["SentTimestamp"]), int(found["ApproximateFirstReceiveTimestamp"])
        )

    def test_visibility_timeout_expires_and_the_receive_count_grows(self):
        url = create(unique("visibility"), VisibilityTimeout=1)
        sent = SQS.send_message(QueueUrl=url, MessageBody="work")
        [first] = receive(url, AttributeNames=["All"])
        self.assertEqual(first["Attributes"]["ApproximateReceiveCount"], "1")
        self.assertEqual(receive(url), [], "invisible while in flight")
        time.sleep(1.3)
        [second] = receive(url, AttributeNames=["All"])
        self.assertEqual(second["MessageId"], sent["MessageId"])
        self.assertEqual(second["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(
            second["Attributes"]["ApproximateFirstReceiveTimestamp"],
            first["Attributes"]["ApproximateFirstReceiveTimestamp"],
        )
        self.assertNotEqual(second["ReceiptHandle"], first["ReceiptHandle"])
        # A receive may set its own visibility timeout.
        time.sleep(1.3)
        [third] = receive(url, VisibilityTimeout=0)
        [fourth] = receive(url, VisibilityTimeout=30, AttributeNames=["ApproximateReceiveCount"])
        self.assertEqual(fourth["Attributes"]["ApproximateReceiveCount"], "4")
        self.assertEqual(third["MessageId"], fourth["MessageId"])
        SQS.delete_message(QueueUrl=url, ReceiptHandle=fourth["ReceiptHandle"])

    def test_change_message_visibility(self):
        url = create(unique("extend"))
        SQS.send_message(QueueUrl=url, MessageBody="job")
        [message] = receive(url)
        self.assertEqual(receive(url), [])
        SQS.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
        [again] = receive(url)
        self.assertEqual(again["MessageId"], message["MessageId"])
        SQS.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=1
        )
        self.assertEqual(receive(url), [])
        time.sleep(1.3)
        [third] = receive(url)
        SQS.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])
        # A deleted message is no longer in flight.
        error = failure(
            SQS.change_message_visibility,
            QueueUrl=url,
            ReceiptHandle=third["ReceiptHandle"],
            VisibilityTimeout=10,
        )
        self.assertRefused(
            error, "AWS.SimpleQueueService.MessageNotInflight", exception=ERRORS.MessageNotInflight
        )
        error = failure(
            SQS.change_message_visibility,
            QueueUrl=url,
            ReceiptHandle="garbage",
            VisibilityTimeout=5,
        )
        self.assertRefused(
            error, "ReceiptHandleIsInvalid", 404, exception=ERRORS.ReceiptHandleIsInvalid
        )
        error = failure(SQS.delete_message, QueueUrl=url, ReceiptHandle="garbage")
        self.assertIsInstance(error, ERRORS.ReceiptHandleIsInvalid)

    def test_delay_on_the_queue_and_per_message(self):
        url = create(unique("delayed"), DelaySeconds=1)
        SQS.send_message(QueueUrl=url, MessageBody="later")
        self.assertEqual(receive(url), [])
        self.assertEqual(attribute(url, "ApproximateNumberOfMessagesDelayed"), "1")
        time.sleep(1.3)
        self.assertEqual([m["Body"] for m in receive(url)], ["later"])
        # A message's own delay overrides the queue's.
        plain = create(unique("undelayed"))
        SQS.send_message(QueueUrl=plain, MessageBody="soon", DelaySeconds=1)
        SQS.send_message(QueueUrl=plain, MessageBody="now")
        self.assertEqual([m["Body"] for m in receive(plain, MaxNumberOfMessages=10)], ["now"])
        time.sleep(1.3)
        self.assertEqual([m["Body"] for m in receive(plain, MaxNumberOfMessages=10)], ["soon"])
        error = failure(SQS.send_message, QueueUrl=plain, MessageBody="x", DelaySeconds=901)
        self.assertRefused(error, "InvalidParameterValue")

    def test_receive_limits(self):
        url = create(unique("limits"))
        for bad in [0, 11]:
            error = failure(SQS.receive_message, QueueUrl=url, MaxNumberOfMessages=bad)
            self.assertRefused(error, "InvalidParameterValue", message=bad)
        error = failure(SQS.receive_message, QueueUrl=url, WaitTimeSeconds=21)
        self.assertRefused(error, "InvalidParameterValue")
        for i in range(12):
            SQS.send_message(QueueUrl=url, MessageBody=f"m{i}")
        got = receive(url, MaxNumberOfMessages=10)
        self.assertTrue(1 <= len(got) <= 10)


class LongPolling(Case):
    def test_a_long_poll_returns_as_soon_as_a_message_arrives(self):
        url = create(unique("poll"))
        result = {}

        def consumer():
            started = time.time()
            answer = client().receive_message(QueueUrl=url, WaitTimeSeconds=15)
            result["messages"] = answer.get("Messages", [])
            result["at"] = time.time()
            result["waited"] = result["at"] - started

        thread = threading.Thread(target=consumer)
        thread.start()
        time.sleep(1)
        # The waiting poll holds up no one else.
        started = time.time()
        SQS.list_queues(QueueNamePrefix="poll")
        self.assertLess(time.time() - started, 1.0)
        sent_at = time.time()
        client().send_message(QueueUrl=url, MessageBody="wake up")
        thread.join(20)
        self.assertFalse(thread.is_alive())
        self.assertEqual([m["Body"] for m in result["messages"]], ["wake up"])
        self.assertGreaterEqual(result["waited"], 0.9)
        self.assertLess(result["at"] - sent_at, 2.0)

    def test_an_empty_long_poll_waits_its_time_then_answers_nothing(self):
        url = create(unique("quiet"))
        started = time.time()
        answer = SQS.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        self.assertNotIn("Messages", answer)
        self.assertGreaterEqual(time.time() - started, 0.9)
        # The queue's ReceiveMessageWaitTimeSeconds applies when the call names none.
        waiting = create(unique("waiting"), ReceiveMessageWaitTimeSeconds=1)
        started = time.time()
        SQS.receive_message(QueueUrl=waiting)
        self.assertGreaterEqual(time.time() - started, 0.9)


class DeadLetters(Case):
    def test_failing_messages_land_in_the_dead_letter_queue_and_move_back(self):
        dlq = create(unique("dlq"))
        source_name = unique("work")
        policy = {"deadLetterTargetArn": arn_of(dlq), "maxReceiveCount": "2"}
        source = create(source_name, VisibilityTimeout=0, RedrivePolicy=json.dumps(policy))
        self.assertEqual(
            json.loads(attribute(source, "RedrivePolicy"))["deadLetterTargetArn"], arn_of(dlq)
        )
        for body in ["ok-1", "bad-1", "ok-2", "bad-2"]:
            SQS.send_message(QueueUrl=source, MessageBody=body)

        # A consumer that deletes what it processes and fails the "bad" messages.
        processed, attempts = [], {}

        def consume_once():
            for message in receive(source, MaxNumberOfMessages=10):
                attempts[message["Body"]] = attempts.get(message["Body"], 0) + 1
                if message["Body"].startswith("ok"):
                    SQS.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
                    processed.append(message["Body"])
            return attribute(dlq, "ApproximateNumberOfMessages") == "2"

        wait_until(consume_once, what="both bad messages in the dead-letter queue")
        self.assertEqual(sorted(processed), ["ok-1", "ok-2"])
        # maxReceiveCount 2: each bad message was received twice, then moved.
        self.assertEqual((attempts["bad-1"], attempts["bad-2"]), (2, 2))
        self.assertEqual(receive(source, MaxNumberOfMessages=10), [])
        dead = receive(dlq, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"])
        self.assertEqual(sorted(m["Body"] for m in dead), ["bad-1", "bad-2"])
        for message in dead:
            self.assertEqual(message["Attributes"]["DeadLetterQueueSourceArn"], arn_of(source))

        sources = SQS.list_dead_letter_source_queues(QueueUrl=dlq)
        self.assertEqual(sources["queueUrls"], [source])
        self.assertEqual(SQS.list_dead_letter_source_queues(QueueUrl=source)["queueUrls"], [])

        # A move task with no destination sends each message back to the queue it came from.
        handle = SQS.start_message_move_task(SourceArn=arn_of(dlq))["TaskHandle"]
        self.assertTrue(handle)

        def completed():
            results = SQS.list_message_move_tasks(SourceArn=arn_of(dlq))["Results"]
            return results if results and results[0]["Status"] == "COMPLETED" else None

        [task] = wait_until(completed, what="the move task to complete")
        self.assertEqual(task["SourceArn"], arn_of(dlq))
        self.assertEqual(task["ApproximateNumberOfMessagesMoved"], 2)
        self.assertEqual(task["ApproximateNumberOfMessagesToMove"], 2)
        self.assertNotIn("DestinationArn", task)
        self.assertNotIn("TaskHandle", task, "only a running task shows its handle")
        self.assertIsInstance(task["StartedTimestamp"], int)
        self.assertEqual(attribute(dlq, "ApproximateNumberOfMessages"), "0")
        back = receive(source, MaxNumberOfMessages=10, VisibilityTimeout=30)
        self.assertEqual(sorted(m["Body"] for m in back), ["bad-1", "bad-2"])

    def test_redrive_policies_are_checked(self):
        error = failure(
            SQS.create_queue,
            QueueName=unique("orphan"),
            Attributes={
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:nowhere",
                        "maxReceiveCount": "2",
                    }
                )
            },
        )
        self.assertEqual(code_and_status(error)[1], 400)
        # A queue that is no one's dead-letter queue cannot be a move task's source.
        lonely = create(unique("lonely"))
        error = failure(SQS.start_message_move_task, SourceArn=arn_of(lonely))
        self.assertRefused(error, "InvalidParameterValue")

    def test_a_move_task_to_a_destination_can_be_cancelled(self):
        dlq = create(unique("dlq"))
        create(
            unique("feeds"),
            RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(dlq), "maxReceiveCount": "5"}),
        )
        destination = create(unique("replay"))
        for start in range(0, 30, 10):
            SQS.send_message_batch(
                QueueUrl=dlq,
                Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)],
            )
        handle = SQS.start_message_move_task(
            SourceArn=arn_of(dlq),
            DestinationArn=arn_of(destination),
            MaxNumberOfMessagesPerSecond=1,
        )["TaskHandle"]
        [running] = SQS.list_message_move_tasks(SourceArn=arn_of(dlq), MaxResults=10)["Results"]
        self.assertEqual(running["Status"], "RUNNING")
        self.assertEqual(running["TaskHandle"], handle)
        self.assertEqual(running["DestinationArn"], arn_of(destination))
        self.assertEqual(running["MaxNumberOfMessagesPerSecond"], 1)
        moved = SQS.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
        self.assertLess(moved, 30)

        def cancelled():
            [task] = SQS.list_message_move_tasks(SourceArn=arn_of(dlq))["Results"]
            return task if task["Status"] == "CANCELLED" else None

        task = wait_until(cancelled, what="the move task to be cancelled")
        self.assertLess(task["ApproximateNumberOfMessagesMoved"], 30)
        remaining = int(attribute(dlq, "ApproximateNumberOfMessages"))
        arrived = int(attribute(destination, "ApproximateNumberOfMessages"))
        self.assertEqual(remaining + arrived, 30)
        self.assertEqual(arrived, task["ApproximateNumberOfMessagesMoved"])
        error = failure(SQS.cancel_message_move_task, TaskHandle=str(uuid.uuid4()))
        self.assertRefused(
            error, "ResourceNotFoundException", 404, exception=ERRORS.ResourceNotFoundException
        )


class Fifo(Case):
    def test_each_group_is_delivered_in_order_to_concurrent_consumers(self):
        url = create(
            unique("ordered") + ".fifo", FifoQueue="true", ContentBasedDeduplication="true"
        )
        groups, per_group = ["a", "b", "c"], 8
        sequence_numbers = []
        for i in range(per_group):
            sent = SQS.send_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": f"{g}{i}", "MessageBody": f"{g}-{i}", "MessageGroupId": g}
                    for g in groups
                ],
            )
            self.assertEqual(sent["Failed"], [])
            sequence_numbers += [int(e["SequenceNumber"]) for e in sent["Successful"]]
        self.assertEqual(sequence_numbers, sorted(sequence_numbers))
        self.assertEqual(len(set(sequence_numbers)), len(sequence_numbers))

        lock, seen, errors = threading.Lock(), {g: [] for g in groups}, []
        total = len(groups) * per_group

        def consumer():
            sqs = client()
            deadline = time.time() + 30
            try:
                while time.time() < deadline:
                    with lock:
                        if sum(len(v) for v in seen.values()) >= total:
                            return
                    answer = sqs.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=2, WaitTimeSeconds=1,
                        AttributeNames=["MessageGroupId"],
                    )
                    for message in answer.get("Messages", []):
                        group, index = message["Body"].split("-")
                        self.assertEqual(message["Attributes"]["MessageGroupId"], group)
                        time.sleep(0.01)
                        # Recorded before the delete: the group's next message cannot be
                        # delivered while this one is in flight.
                        with lock:
                            seen[group].append(int(index))
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            except Exception as error:  # reported by the main thread
                errors.append(error)

        threads = [threading.Thread(target=consumer) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(40)
        self.assertEqual(errors, [])
        for group in groups:
            self.assertEqual(seen[group], list(range(per_group)), group)

    def test_fifo_messages_carry_group_deduplication_id_and_sequence(self):
        url = create(unique("attrs") + ".fifo", FifoQueue="true")
        sent = SQS.send_message(
            QueueUrl=url, MessageBody="one", MessageGroupId="g", MessageDeduplicationId="d-1"
        )
        self.assertIn("SequenceNumber", sent)
        [message] = receive(url, AttributeNames=["All"])
        self.assertEqual(message["Attributes"]["MessageGroupId"], "g")
        self.assertEqual(message["Attributes"]["MessageDeduplicationId"], "d-1")
        self.assertEqual(message["Attributes"]["SequenceNumber"], sent["SequenceNumber"])

    def test_deduplication_by_explicit_id(self):
        url = create(unique("dedup") + ".fifo", FifoQueue="true")
        first = SQS.send_message(
            QueueUrl=url, MessageBody="pay 10", MessageGroupId="g", MessageDeduplicationId="pay-1"
        )
        # A duplicate is accepted and not delivered again.
        SQS.send_message(
            QueueUrl=url, MessageBody="pay 10", MessageGroupId="g", MessageDeduplicationId="pay-1"
        )
        SQS.send_message(
            QueueUrl=url, MessageBody="pay 10", MessageGroupId="g", MessageDeduplicationId="pay-2"
        )
        got = receive(url, MaxNumberOfMessages=10)
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0]["MessageId"], first["MessageId"])
        for message in got:
            SQS.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        # Deleting a message does not end its deduplication interval.
        SQS.send_message(
            QueueUrl=url, MessageBody="pay 10", MessageGroupId="g", MessageDeduplicationId="pay-1"
        )
        self.assertEqual(receive(url, MaxNumberOfMessages=10), [])
        error = failure(SQS.send_message, QueueUrl=url, MessageBody="no id", MessageGroupId="g")
        self.assertRefused(error, "InvalidParameterValue")
        error = failure(
            SQS.send_message, QueueUrl=url, MessageBody="no group", MessageDeduplicationId="x"
        )
        self.assertRefused(error, "MissingParameter")
        error = failure(
            SQS.send_message,
            QueueUrl=url,
            MessageBody="delayed",
            MessageGroupId="g",
            MessageDeduplicationId="delayed",
            DelaySeconds=2,
        )
        self.assertRefused(error, "InvalidParameterValue")
        # A FIFO batch with an entry missing its group is refused as a whole.
        error = failure(
            SQS.send_message_batch,
            QueueUrl=url,
            Entries=[
                {"Id": "1", "MessageBody": "a", "MessageGroupId": "g",
                 "MessageDeduplicationId": "a"},
                {"Id": "2", "MessageBody": "b", "MessageDeduplicationId": "b"},
            ],
        )
        self.assertRefused(error, "InvalidParameterValue")

    def test_content_based_deduplication(self):
        url = create(
            unique("content") + ".fifo", FifoQueue="true", ContentBasedDeduplication="true"
        )
        self.assertEqual(attribute(url, "ContentBasedDeduplication"), "true")
        for body in ["same", "same", "different"]:
            SQS.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
        got = receive(url, MaxNumberOfMessages=10)
        self.assertEqual([m["Body"] for m in got], ["same", "different"])


class Purge(Case):
    def test_purge_empties_the_queue_once_a_minute(self):
        url = create(unique("purged"))
        for i in range(3):
            SQS.send_message(QueueUrl=url, MessageBody=f"m{i}")
        SQS.purge_queue(QueueUrl=url)
        self.assertEqual(receive(url, MaxNumberOfMessages=10), [])
        self.assertEqual(attribute(url, "ApproximateNumberOfMessages"), "0")
        error = failure(SQS.purge_queue, QueueUrl=url)
        self.assertRefused(
            error,
            "AWS.SimpleQueueService.PurgeQueueInProgress",
            403,
            exception=ERRORS.PurgeQueueInProgress,
        )


class Batches(Case):
    def test_send_batch_reports_each_entry(self):
        url = create(unique("batch"))
        attributes = {"k": {"DataType": "String", "StringValue": "v"}}
        answer = SQS.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "ok-1", "MessageBody": "first", "MessageAttributes": attributes},
                {"Id": "too-late", "MessageBody": "x", "DelaySeconds": 901},
                {"Id": "bad_body", "MessageBody": "nul \u0000"},
                {"Id": "ok-2", "MessageBody": "second", "DelaySeconds": 0},
            ],
        )
        successful = {e["Id"]: e for e in answer["Successful"]}
        self.assertEqual(set(successful), {"ok-1", "ok-2"})
        self.assertEqual(successful["ok-1"]["MD5OfMessageBody"], md5(b"first"))
        self.assertEqual(
            successful["ok-1"]["MD5OfMessageAttributes"], md5_of_attributes(attributes)
        )
        self.assertNotIn("MD5OfMessageAttributes", successful["ok-2"])
        failed = {e["Id"]: e for e in answer["Failed"]}
        self.assertEqual(set(failed), {"too-late", "bad_body"})
        self.assertEqual(failed["too-late"]["Code"], "InvalidParameterValue")
        self.assertEqual(failed["bad_body"]["Code"], "InvalidMessageContents")
        self.assertTrue(all(e["SenderFault"] for e in failed.values()))
        self.assertTrue(all(e["Message"] for e in failed.values()))
        bodies = sorted(m["Body"] for m in receive(url, MaxNumberOfMessages=10))
        self.assertEqual(bodies, ["first", "second"])

    def test_batch_rules(self):
        url = create(unique("rules"))
        cases = [
            ([], ERRORS.EmptyBatchRequest, "AWS.SimpleQueueService.EmptyBatchRequest"),
            (
                [{"Id": str(i), "MessageBody": "x"} for i in range(11)],
                ERRORS.TooManyEntriesInBatchRequest,
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            ),
            (
                [{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}],
                ERRORS.BatchEntryIdsNotDistinct,
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            ),
            (
                [{"Id": "not:valid", "MessageBody": "x"}],
                ERRORS.InvalidBatchEntryId,
                "AWS.SimpleQueueService.InvalidBatchEntryId",
            ),
            (
                [{"Id": "x" * 81, "MessageBody": "x"}],
                ERRORS.InvalidBatchEntryId,
                "AWS.SimpleQueueService.InvalidBatchEntryId",
            ),
            (
                # Each message fits the queue's limit; together they pass the batch's 1 MiB.
                [{"Id": str(i), "MessageBody": "x" * 250_000} for i in range(5)],
                ERRORS.BatchRequestTooLong,
                "AWS.SimpleQueueService.BatchRequestTooLong",
            ),
        ]
        for entries, exception, code in cases:
            error = failure(SQS.send_message_batch, QueueUrl=url, Entries=entries)
            self.assertRefused(error, code, exception=exception)
        error = failure(SQS.delete_message_batch, QueueUrl=url, Entries=[])
        self.assertIsInstance(error, ERRORS.EmptyBatchRequest)
        error = failure(
            SQS.change_message_visibility_batch,
            QueueUrl=url,
            Entries=[{"Id": "a", "ReceiptHandle": "h"}, {"Id": "a", "ReceiptHandle": "h"}],
        )
        self.assertIsInstance(error, ERRORS.BatchEntryIdsNotDistinct)
        self.assertEqual(attribute(url, "ApproximateNumberOfMessages"), "0")

    def test_delete_and_change_visibility_batches_report_each_entry(self):
        url = create(unique("handles"))
        SQS.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)]
        )
        got = []
        wait_until(
            lambda: got.extend(receive(url, MaxNumberOfMessages=10)) or len(got) == 3,
            what="three messages received",
        )
        changed = SQS.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "back", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
                {"Id": "bogus", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
            ],
        )
        self.assertEqual([e["Id"] for e in changed["Successful"]], ["back"])
        [bogus] = changed["Failed"]
        self.assertEqual(
            (bogus["Id"], bogus["Code"], bogus["SenderFault"]),
            ("bogus", "ReceiptHandleIsInvalid", True),
        )
        [again] = receive(url)
        self.assertEqual(again["MessageId"], got[0]["MessageId"])
        deleted = SQS.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": "a", "ReceiptHandle": again["ReceiptHandle"]},
                {"Id": "b", "ReceiptHandle": got[1]["ReceiptHandle"]},
                {"Id": "c", "ReceiptHandle": got[2]["ReceiptHandle"]},
                {"Id": "d", "ReceiptHandle": "garbage"},
            ],
        )
        self.assertEqual(sorted(e["Id"] for e in deleted["Successful"]), ["a", "b", "c"])
        [bad] = deleted["Failed"]
        self.assertEqual(
            (bad["Id"], bad["Code"], bad["SenderFault"]), ("d", "ReceiptHandleIsInvalid", True)
        )
        self.assertEqual(attribute(url, "ApproximateNumberOfMessages"), "0")
        self.assertEqual(attribute(url, "ApproximateNumberOfMessagesNotVisible"), "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
