"""weir's topics driven by boto3's `sns` client, as applications drive Amazon SNS.

Run by crates/cli/tests/clients.rs against a `weir server` it starts; WEIR_ENDPOINT names it.
boto3 speaks SNS's query protocol (form-encoded `Action=...`, XML answers); errors are raised as
the modelled exceptions (`sns.exceptions.NotFoundException`). Expected values follow AWS's SNS
API reference (result members, error codes, filter policy and raw delivery rules), not weir's
output. Messages are read back from SQS queues subscribed to the topics; the AWS CLI (`aws sns`)
is checked too.
"""

import json
import os
import subprocess
import sys
import time
import unittest

import boto3
from botocore.config import Config

ENDPOINT = os.environ["WEIR_ENDPOINT"]
REGION = "us-east-1"
ACCOUNT = "000000000000"


def client(service):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="AKIDWEIRTEST",
        aws_secret_access_key="secret",
        config=Config(read_timeout=30, retries={"max_attempts": 1}),
    )


SNS = client("sns")
SQS = client("sqs")


def unique(prefix):
    return f"{prefix}-{time.time_ns()}"


def queue():
    """A new queue: its URL and ARN."""
    url = SQS.create_queue(QueueName=unique("sns-sub"))["QueueUrl"]
    arn = SQS.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(url, expected, wait=5):
    """The bodies of `expected` messages received from `url` (fewer if they do not come)."""
    bodies, deadline = [], time.time() + wait
    while len(bodies) < expected and time.time() < deadline:
        got = SQS.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in got.get("Messages", []):
            bodies.append(m["Body"])
            SQS.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return bodies


class Topics(unittest.TestCase):
    def test_topics_are_created_listed_described_and_deleted(self):
        name = unique("orders")
        arn = SNS.create_topic(Name=name, Attributes={"DisplayName": "Orders"},
                               Tags=[{"Key": "team", "Value": "data"}])["TopicArn"]
        self.assertEqual(arn, f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}")
        # Creating it again with the same attributes answers the same ARN, as SNS does.
        self.assertEqual(SNS.create_topic(Name=name, Attributes={"DisplayName": "Orders"})["TopicArn"], arn)
        listed = [t["TopicArn"] for t in SNS.list_topics()["Topics"]]
        self.assertIn(arn, listed)
        attributes = SNS.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(attributes["TopicArn"], arn)
        self.assertEqual(attributes["DisplayName"], "Orders")
        SNS.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders EU")
        self.assertEqual(SNS.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"], "Orders EU")
        with self.assertRaises(SNS.exceptions.InvalidParameterException):
            SNS.set_topic_attributes(TopicArn=arn, AttributeName="NoSuchThing", AttributeValue="x")
        self.assertEqual(SNS.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "data"}])
        SNS.tag_resource(ResourceArn=arn, Tags=[{"Key": "tier", "Value": "gold"}])
        SNS.untag_resource(ResourceArn=arn, TagKeys=["team"])
        self.assertEqual(SNS.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "tier", "Value": "gold"}])
        SNS.delete_topic(TopicArn=arn)
        self.assertNotIn(arn, [t["TopicArn"] for t in SNS.list_topics()["Topics"]])
        with self.assertRaises(SNS.exceptions.NotFoundException):
            SNS.get_topic_attributes(TopicArn=arn)

    def test_publish_reaches_a_subscribed_queue_through_its_filter_policy(self):
        arn = SNS.create_topic(Name=unique("events"))["TopicArn"]
        url, queue_arn = queue()
        sub = SNS.subscribe(
            TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True,
            Attributes={"RawMessageDelivery": "true",
                        "FilterPolicy": json.dumps({"color": ["red"]})},
        )["SubscriptionArn"]
        self.assertTrue(sub.startswith(arn + ":"), sub)
        subs = SNS.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        self.assertEqual([(s["SubscriptionArn"], s["Protocol"], s["Endpoint"], s["TopicArn"]) for s in subs],
                         [(sub, "sqs", queue_arn, arn)])
        self.assertIn(sub, [s["SubscriptionArn"] for s in SNS.list_subscriptions()["Subscriptions"]])
        attributes = SNS.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
        self.assertEqual(attributes["RawMessageDelivery"], "true")
        self.assertEqual(json.loads(attributes["FilterPolicy"]), {"color": ["red"]})

        red = SNS.publish(TopicArn=arn, Message="a red one", MessageAttributes={
            "color": {"DataType": "String", "StringValue": "red"}})
        self.assertTrue(red["MessageId"])
        SNS.publish(TopicArn=arn, Message="a blue one", MessageAttributes={
            "color": {"DataType": "String", "StringValue": "blue"}})
        self.assertEqual(drain(url, 2, wait=3), ["a red one"])

        # Without raw delivery the queue gets SNS's JSON envelope.
        SNS.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery",
                                        AttributeValue="false")
        SNS.publish(TopicArn=arn, Subject="Hello & <welcome>", Message="enveloped",
                    MessageAttributes={"color": {"DataType": "String", "StringValue": "red"}})
        [body] = drain(url, 1)
        envelope = json.loads(body)
        self.assertEqual(envelope["Type"], "Notification")
        self.assertEqual(envelope["Message"], "enveloped")
        self.assertEqual(envelope["Subject"], "Hello & <welcome>")
        self.assertEqual(envelope["TopicArn"], arn)

        SNS.unsubscribe(SubscriptionArn=sub)
        self.assertEqual(SNS.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"], [])

    def test_publish_batch_answers_each_entry(self):
        arn = SNS.create_topic(Name=unique("batch"))["TopicArn"]
        url, queue_arn = queue()
        SNS.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
        answer = SNS.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": "one", "Message": "first"},
            {"Id": "two", "Message": "second",
             "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "2"}}},
        ])
        self.assertEqual(sorted(s["Id"] for s in answer["Successful"]), ["one", "two"])
        self.assertEqual(answer.get("Failed", []), [])
        self.assertEqual(sorted(drain(url, 2)), ["first", "second"])

    def test_errors_are_snss_modelled_exceptions(self):
        missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:{unique('nowhere')}"
        with self.assertRaises(SNS.exceptions.NotFoundException):
            SNS.publish(TopicArn=missing, Message="x")
        arn = SNS.create_topic(Name=unique("errors"))["TopicArn"]
        with self.assertRaises(SNS.exceptions.InvalidParameterException) as raised:
            SNS.subscribe(TopicArn=arn, Protocol="carrier-pigeon", Endpoint="roof")
        self.assertIn("carrier-pigeon", raised.exception.response["Error"]["Message"])
        with self.assertRaises(SNS.exceptions.InvalidParameterException):
            SNS.subscribe(TopicArn=arn, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:absent")

    def test_the_aws_cli_publishes(self):
        def aws(*args):
            env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDWEIRTEST", AWS_SECRET_ACCESS_KEY="secret",
                       AWS_DEFAULT_REGION=REGION)
            out = subprocess.run(
                [sys.executable, "-m", "awscli", "sns", *args, "--endpoint-url", ENDPOINT,
                 "--output", "json"],
                capture_output=True, text=True, env=env, check=False)
            return out.returncode, out.stdout, out.stderr

        name = unique("cli")
        code, out, err = aws("create-topic", "--name", name)
        self.assertEqual(code, 0, err)
        arn = json.loads(out)["TopicArn"]
        url, queue_arn = queue()
        SNS.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
        code, out, err = aws("publish", "--topic-arn", arn, "--message", "from the CLI")
        self.assertEqual(code, 0, err)
        self.assertTrue(json.loads(out)["MessageId"])
        self.assertEqual(drain(url, 1), ["from the CLI"])
        code, _, err = aws("get-topic-attributes", "--topic-arn", arn + "-missing")
        self.assertNotEqual(code, 0)
        self.assertIn("NotFound", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
