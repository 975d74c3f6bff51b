#!/usr/bin/env python3
"""Check a conformance run against weir's targets, its baseline and its list of known failures.

usage: conformance_check.py CORPUS RESULTS.jsonl [--update]

* Targets: at least 98% of the pure JSONPath-only executions pass (issue #2), at least 97% of the
  pure executions whose definitions use JSONata (issue #3), and at least 90% of the rejected and
  validated definitions get AWS's verdict (issue #2). Cases the runner did not run count as
  failures.
* Baseline (tests/conformance/baseline.txt): every case id listed there passed once and must still
  pass. `--update` rewrites it with every case that passes now.
* Known failures (tests/conformance/known-failures.tsv): every failing case of the two target groups
  must be listed there with its reason (`<id><TAB><reason>`), so nothing fails silently.

The verdict for each case comes from the corpus's own referee, compare.py.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASELINE = os.path.join(ROOT, "tests", "conformance", "baseline.txt")
KNOWN = os.path.join(ROOT, "tests", "conformance", "known-failures.tsv")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, results_path = argv[0], argv[1]
    update = "--update" in argv[2:]
    sys.path.insert(0, os.path.abspath(corpus))
    import compare  # noqa: E402  (the corpus's referee)

    index = json.load(open(os.path.join(corpus, "index.json")))
    rows = {r["id"]: r for r in index}
    verdicts: dict[str, tuple[bool, str]] = {}
    for line in open(results_path):
        actual = json.loads(line)
        row = rows.get(actual.get("id"))
        if row is None:
            continue
        case = json.load(open(os.path.join(corpus, row["path"])))
        v = compare.compare(case, actual)
        verdicts[row["id"]] = (v["result"] == "pass", "; ".join(v["reasons"][:1]))

    def executions(r):
        return r["kind"] == "pure" and r["api"].startswith("start_") and r["query_languages"] == ["JSONPath"]

    def jsonata_executions(r):
        return r["kind"] == "pure" and r["api"].startswith("start_") and "JSONata" in r["query_languages"]

    def definitions(r):
        return r["api"] in ("validate_state_machine_definition", "api_error:create_state_machine", "api_error:update_state_machine")

    known = {}
    if os.path.exists(KNOWN):
        for line in open(KNOWN):
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                cid, _, reason = line.partition("\t")
                known[cid] = reason
    ok = True
    groups = (
        ("pure JSONPath executions", executions, 98.0),
        ("pure executions using JSONata", jsonata_executions, 97.0),
        ("rejected and validated definitions", definitions, 90.0),
    )
    for name, pick, target in groups:
        group = [r["id"] for r in index if pick(r)]
        passed = sum(1 for cid in group if verdicts.get(cid, (False, ""))[0])
        pct = 100.0 * passed / max(len(group), 1)
        status = "ok" if pct >= target else "BELOW TARGET"
        print(f"{name}: {passed}/{len(group)} pass ({pct:.1f}%; target {target:.0f}%) {status}")
        ok &= pct >= target
        for cid in group:
            good, reason = verdicts.get(cid, (False, "not run"))
            if not good and cid not in known:
                print(f"  unlisted failure: {cid}: {reason}")
                ok = False
    passing = sorted(cid for cid, (good, _) in verdicts.items() if good)
    everything = sum(1 for _ in verdicts)
    print(f"all cases run: {len(passing)}/{everything} pass; corpus size {len(index)}")
    if update:
        with open(BASELINE, "w") as f:
            f.write("".join(cid + "\n" for cid in passing))
        print(f"baseline updated: {len(passing)} cases")
        return 0 if ok else 1
    baseline = [l.strip() for l in open(BASELINE)] if os.path.exists(BASELINE) else []
    regressions = [cid for cid in baseline if cid and not verdicts.get(cid, (False, ""))[0]]
    for cid in regressions:
        print(f"  REGRESSION: {cid}: {verdicts.get(cid, (False, 'not run'))[1]}")
    newly = len(set(passing) - set(baseline))
    if newly:
        print(f"{newly} cases pass that the baseline does not list yet (run with --update)")
    ok &= not regressions
    for cid in sorted(known):
        if verdicts.get(cid, (False, ""))[0]:
            print(f"  note: {cid} is listed as a known failure but passes now; remove it from known-failures.tsv")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
