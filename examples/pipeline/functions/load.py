"""load-orders: upserts orders into the warehouse, a JSON file keyed by order id.

Event: {"orders": [...], "file": "out/orders.json", "busy_attempts": N}.
Loading is idempotent: an order already stored with the same content is left alone, so running
the pipeline again adds nothing. The warehouse is replaced atomically (write, then rename).

`busy_attempts` simulates a warehouse that is locked by another job: the first N attempts of a
load fail with `WarehouseBusy`, which the state machine retries with backoff.
"""

import json
import os

from lambda_runtime import FunctionError, log, serve


class WarehouseBusy(FunctionError):
    """The warehouse is locked; try again later."""


def handler(event, context):
    if context.attempt < int(event.get("busy_attempts", 0)):
        raise WarehouseBusy(f"the warehouse is locked by another job (attempt {context.attempt + 1})")
    path = event["file"]
    try:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)["orders"]
    except FileNotFoundError:
        rows = {}
    inserted = updated = unchanged = 0
    for order in event["orders"]:
        old = rows.get(order["id"])
        if old is None:
            inserted += 1
        elif old == order:
            unchanged += 1
        else:
            updated += 1
        rows[order["id"]] = order
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump({"orders": rows}, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(temporary, path)
    log(f"{path}: {inserted} new, {updated} updated, {unchanged} unchanged, {len(rows)} in total")
    return {
        "file": path,
        "inserted": inserted,
        "updated": updated,
        "unchanged": unchanged,
        "total": len(rows),
    }


if __name__ == "__main__":
    serve(handler)
