#!/usr/bin/env python3
"""Compare a conformance run through weir's HTTP API with the in-process run of the same corpus.

usage: conformance_api.py CORPUS IN_PROCESS.jsonl API.jsonl

Fails if a case that passes in process fails through the API (the API must score at least as
well), if fewer than 95% of the pure TestState cases pass through the API (issue 5's target) or
if fewer than 95% of the Lambda cases pass through the API, run by real weir functions (issue
6's target); prints both scores over the cases the API run covered, and those two scores.
The verdict for each case comes from the corpus's own referee, compare.py.
"""

import json
import os
import sys


def verdicts(corpus, path, rows, compare):
    out = {}
    for line in open(path):
        actual = json.loads(line)
        row = rows.get(actual.get("id"))
        if row is None:
            continue
        case = json.load(open(os.path.join(corpus, row["path"])))
        verdict = compare.compare(case, actual)
        out[row["id"]] = (verdict["result"] == "pass", "; ".join(verdict["reasons"][:1]))
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, in_process, api = argv
    sys.path.insert(0, os.path.abspath(corpus))
    import compare  # noqa: E402  (the corpus's referee)

    rows = {r["id"]: r for r in json.load(open(os.path.join(corpus, "index.json")))}
    local = verdicts(corpus, in_process, rows, compare)
    remote = verdicts(corpus, api, rows, compare)
    worse = [i for i, (ok, _) in remote.items() if not ok and local.get(i, (False, ""))[0]]
    both = [i for i in remote if i in local]
    print(f"through the API: {sum(ok for ok, _ in remote.values())}/{len(remote)} pass; "
          f"in process, same cases: {sum(local[i][0] for i in both)}/{len(both)}")
    test_state = [i for i, r in rows.items() if r["api"] in ("test_state", "api_error:test_state")
                  and r["kind"] == "pure"]
    passed = sum(remote.get(i, (False, ""))[0] for i in test_state)
    print(f"TestState (pure) through the API: {passed}/{len(test_state)} pass "
          f"({100.0 * passed / max(len(test_state), 1):.1f}%)")
    lambdas = [i for i, r in rows.items() if r["kind"] == "lambda"]
    lambda_passed = sum(remote.get(i, (False, ""))[0] for i in lambdas)
    print(f"Lambda cases through the API (weir functions): {lambda_passed}/{len(lambdas)} pass "
          f"({100.0 * lambda_passed / max(len(lambdas), 1):.1f}%)")
    for i in worse:
        print(f"FAIL through the API only: {i}: {remote[i][1]}")
    short = passed < 0.95 * len(test_state)
    if short:
        print("FAIL: TestState through the API is below its 95% target")
    lambda_short = lambda_passed < 0.95 * len(lambdas)
    if lambda_short:
        for i in lambdas:
            if not remote.get(i, (False, ""))[0]:
                print(f"Lambda case failing through the API: {i}: {remote.get(i, (False, 'not run'))[1]}")
        print("FAIL: Lambda cases through the API are below their 95% target")
    return 1 if worse or short or lambda_short else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
