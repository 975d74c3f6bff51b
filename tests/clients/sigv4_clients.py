"""SigV4 against a `weir server` started with `--access-key AKIDWEIRTEST:secret`.

The right key passes; a wrong secret, a changed body, a stale date and a missing header are each
refused with AWS's error code. Run by crates/cli/tests/clients.rs; WEIR_ENDPOINT names the server.
"""

import datetime
import json
import os
import unittest
import urllib.error
import urllib.request
from unittest import mock

import boto3
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ENDPOINT = os.environ["WEIR_ENDPOINT"]
TARGET = "AWSStepFunctions.ListStateMachines"


def client(secret):
    return boto3.client(
        "stepfunctions",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="AKIDWEIRTEST",
        aws_secret_access_key=secret,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


def signed(body, secret="secret", when=None):
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TARGET},
    )
    signer = botocore.auth.SigV4Auth(Credentials("AKIDWEIRTEST", secret), "states", "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:
        # botocore reads the time through botocore.auth.get_current_datetime (naive UTC).
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            signer.add_auth(request)
    return dict(request.headers.items())


def send(headers, body):
    request = urllib.request.Request(ENDPOINT + "/", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Signatures(unittest.TestCase):
    def test_the_right_key_passes(self):
        self.assertIn("stateMachines", client("secret").list_state_machines())
        status, _ = send(signed(b"{}"), b"{}")
        self.assertEqual(status, 200)

    def test_a_wrong_secret_is_refused(self):
        with self.assertRaises(client("wrong").exceptions.ClientError) as caught:
            client("wrong").list_state_machines()
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidSignatureException")

    def test_a_changed_body_is_refused(self):
        headers = signed(b"{}")
        status, body = send(headers, b'{"maxResults": 5}')
        self.assertEqual((status, body["__type"]), (400, "InvalidSignatureException"))

    def test_a_stale_date_is_refused(self):
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
        status, body = send(signed(b"{}", when=old), b"{}")
        self.assertEqual((status, body["__type"]), (400, "InvalidSignatureException"))
        self.assertIn("Signature expired", body["message"])

    def test_a_missing_header_is_refused(self):
        headers = signed(b"{}")
        unsigned = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        status, body = send(unsigned, b"{}")
        self.assertEqual((status, body["__type"]), (400, "MissingAuthenticationTokenException"))
        no_date = {k: v for k, v in headers.items() if k.lower() != "x-amz-date"}
        status, body = send(no_date, b"{}")
        self.assertEqual(status, 400)
        self.assertIn(body["__type"], ("IncompleteSignatureException", "InvalidSignatureException"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
