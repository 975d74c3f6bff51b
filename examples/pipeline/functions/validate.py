"""validate-order: checks one ingested record and returns the order with its subtotal.

Event: {"record": {"line": N, "order": {...}} or {"line": N, "raw": "..."}}.
A valid order has a non-empty string `id` and `customer`, a positive integer `quantity` and a
non-negative integer `unit_price_cents`. Anything else raises `InvalidOrder`, which the Map
iteration's Catch sends to the dead-letter function.
"""

from lambda_runtime import FunctionError, serve


class InvalidOrder(FunctionError):
    """The record is not a valid order."""


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def is_text(value):
    return isinstance(value, str) and value.strip() != ""


def handler(event, context):
    record = event["record"]
    line = record["line"]
    if "raw" in record:
        raise InvalidOrder(f"line {line}: not JSON ({record.get('parse_error')})")
    order = record["order"]
    if not isinstance(order, dict):
        raise InvalidOrder(f"line {line}: not a JSON object")
    problems = []
    if not is_text(order.get("id")):
        problems.append("missing id")
    if not is_text(order.get("customer")):
        problems.append("missing customer")
    quantity = order.get("quantity")
    if not is_int(quantity) or quantity <= 0:
        problems.append(f"quantity must be a positive integer, not {quantity!r}")
    price = order.get("unit_price_cents")
    if not is_int(price) or price < 0:
        problems.append(f"unit_price_cents must be a non-negative integer, not {price!r}")
    if problems:
        raise InvalidOrder(f"line {line}: " + "; ".join(problems))
    return {
        "id": order["id"],
        "customer": order["customer"],
        "quantity": quantity,
        "unit_price_cents": price,
        "subtotal_cents": quantity * price,
    }


if __name__ == "__main__":
    serve(handler)
