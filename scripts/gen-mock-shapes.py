#!/usr/bin/env python3
"""Writes crates/asl/src/test_state/shapes.json: the output shapes TestState checks mocks against.

usage: "$(scripts/client-env.sh)" scripts/gen-mock-shapes.py

AWS's TestState checks a Task's mocked `result` against the output shape of the service API the
Task calls (`mock.fieldValidationMode` STRICT or PRESENT). This script reads those shapes from the
botocore service models installed in the client venv (scripts/client-env.sh, pinned by
tests/clients/requirements.txt) and writes them in a compact form for `asl` to embed. The output
is committed; run the command above again after changing RESOURCES or the pinned botocore.

Adding an operation is one line in RESOURCES: its `Resource` without `arn:aws:states:::`. An
`aws-sdk:<service>:<operationCamelCase>` resource names the botocore service (see SERVICE_NAMES
where they differ) and the operation (first letter upper-cased); an optimized integration
`<service>:<operation>` maps the same way, and belongs here only when its result is the API's
output as is (`lambda:invoke`'s is not: it wraps the function's payload).

The file:

    {"botocore": VERSION,
     "resources": {RESOURCE: SHAPE_REF, ...},
     "shapes": {"service.ShapeName": SHAPE, ...}}

SHAPE_REF is a key of "shapes", or a bare type name (string, integer, long, double, float,
boolean, timestamp, blob, document) for a shape without constraints. A SHAPE has "type"
(structure, list, map or one of the above) and, as its type has them: "members" (name ->
SHAPE_REF), "required" (member names), "member" (a list's items), "value" (a map's values),
"enum", "min" and "max" (a string's or blob's length, a number's value). Member names are the
model's: Step Functions returns these services' outputs under the same names.

RECORDED holds the few constraints where AWS's TestState, as the conformance corpus recorded it,
used an older model than the installed botocore; each entry says which case shows it.
"""

from __future__ import annotations

import json
import os
import sys

import botocore
import botocore.loaders

# Each operation whose mocked result TestState checks: one line each.
RESOURCES = [
    "aws-sdk:kms:encrypt",
    "aws-sdk:s3:getObject",
    "aws-sdk:lambda:getFunction",
    "dynamodb:putItem",
    "events:putEvents",
]

# Step Functions' service name -> botocore's, where they differ.
SERVICE_NAMES = {
    "sfn": "stepfunctions",
    "states": "stepfunctions",
}

# (botocore service, shape) -> constraints AWS recorded, overriding the installed model's.
RECORDED = {
    # botocore 1.41 says max 10240, later ones 32768. AWS refused 10241 (corpus case
    # test_present_mode_aws_sdk_lambda_get_function_task[integer_more_than_maximum_allowed],
    # recorded 2025-12-03).
    ("lambda", "MemorySize"): {"max": 10240},
}

# botocore shape types kept as they are; any other is treated as a document (not checked).
SCALARS = {"string", "integer", "long", "double", "float", "boolean", "timestamp", "blob"}

OUT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "crates", "asl", "src", "test_state", "shapes.json",
)


def operation_of(resource: str) -> tuple[str, str]:
    """The botocore (service, operation) a resource calls."""
    parts = resource.split(":")
    if parts[0] == "aws-sdk":
        parts = parts[1:]
    if len(parts) != 2:
        raise SystemExit(f"cannot read the service and operation of {resource!r}")
    service, action = parts
    return SERVICE_NAMES.get(service, service), action[:1].upper() + action[1:]


class Collector:
    """Resolves shapes of one service model into the compact form, each once."""

    def __init__(self, service: str, model: dict, shapes: dict):
        self.service = service
        self.model = model
        self.shapes = shapes

    def ref(self, name: str) -> str:
        source = self.model["shapes"][name]
        kind = source["type"]
        if kind not in SCALARS | {"structure", "list", "map"}:
            kind = "document"
        if source.get("document"):
            kind = "document"
        shape: dict = {"type": kind}
        if kind in ("string", "blob", "integer", "long", "double", "float"):
            for bound in ("min", "max"):
                if bound in source:
                    shape[bound] = source[bound]
            shape.update(RECORDED.get((self.service, name), {}))
        if kind == "string" and "enum" in source:
            shape["enum"] = list(source["enum"])
        if list(shape) == ["type"] and kind not in ("structure", "list", "map"):
            return kind
        key = f"{self.service}.{name}"
        if key in self.shapes:
            return key
        self.shapes[key] = shape  # before the members: shapes may be recursive
        if kind == "structure":
            shape["members"] = {
                member: self.ref(spec["shape"]) for member, spec in source["members"].items()
            }
            if source.get("required"):
                shape["required"] = list(source["required"])
        elif kind == "list":
            shape["member"] = self.ref(source["member"]["shape"])
        elif kind == "map":
            shape["value"] = self.ref(source["value"]["shape"])
        return key


def main() -> int:
    loader = botocore.loaders.Loader()
    resources: dict[str, str] = {}
    shapes: dict[str, dict] = {}
    for resource in RESOURCES:
        service, operation = operation_of(resource)
        model = loader.load_service_model(service, "service-2")
        if operation not in model["operations"]:
            raise SystemExit(f"{service} has no operation {operation} ({resource})")
        output = model["operations"][operation].get("output")
        if output is None:
            continue
        resources[resource] = Collector(service, model, shapes).ref(output["shape"])
    unused = set(RECORDED) - {tuple(k.split(".", 1)) for k in shapes}
    if unused:
        raise SystemExit(f"RECORDED names shapes no operation uses: {sorted(unused)}")
    # One shape a line: small diffs when a model changes.
    lines = [
        "{",
        f'"botocore": {json.dumps(botocore.__version__)},',
        f'"resources": {json.dumps(resources, sort_keys=True)},',
        '"shapes": {',
    ]
    entries = [
        f"{json.dumps(key)}: {json.dumps(shapes[key], separators=(',', ':'))}"
        for key in sorted(shapes)
    ]
    lines.append(",\n".join(entries))
    lines += ["}", "}"]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {OUT}: {len(resources)} operations, {len(shapes)} shapes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
