"""What every reader builds: ``make_network`` items (dicts with ``layer``, ``name``, ``input``, ...)."""

from ..network import INPUT


def axes_text(value):
    """A literal per-axis value as build_layer reads it: 3 -> 3, (3, 3) -> '3x3'."""
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float, str)) for v in value) and len(set(value)) == 1:  # [[3]]: unhashable
            return value[0]
        return "x".join(str(v) for v in value)
    return value


def reachable(items, output):
    """The items the node named ``output`` depends on, in order (forward() may compute things it does
    not return)."""
    if not items or output == INPUT:
        return []
    by_name = {item["name"]: item for item in items}
    needed, stack = set(), [output]
    while stack:
        name = stack.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        item = by_name[name]
        stack.append(item["input"])
        stack.extend(item.get("with", []))
    return [item for item in items if item["name"] in needed]
