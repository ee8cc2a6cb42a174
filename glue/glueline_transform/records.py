"""Header cells as column names, and the byte-order mark: plain Python, shared by the reader and the transform."""

from __future__ import annotations

from typing import List, Sequence

BOM = "\ufeff"


def normalize_name(name: str) -> str:
    """A header cell as a column name: lowercase, letters, digits and _ only (Glue and Redshift fold case)."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name.strip().lower())
    cleaned = "".join(c if c.isascii() else "_" for c in cleaned).strip("_") or "col"
    return cleaned if not cleaned[0].isdigit() else f"c_{cleaned}"


def unique_names(names: Sequence[str]) -> List[str]:
    """Normalized names, with _2, _3 ... added where two header cells fold to the same name."""
    seen: dict = {}
    out = []
    for name in (normalize_name(n) for n in names):
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}_{count}")
    return out
