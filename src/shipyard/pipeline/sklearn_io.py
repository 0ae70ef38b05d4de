"""Save and load scikit-learn objects with skops instead of pickle.

Artifacts come from a remote, so loading must not run arbitrary code: only types from
scikit-learn and numpy are trusted; anything else in the file is refused by name.

Files are byte-stable: the same fitted object gives the same bytes in any process, so DVC
sees an unchanged output (and skips everything downstream) when nothing really changed.
skops alone is not: it names objects by their `id()` (the `__id__` of every node in
schema.json and the `<id>.npy` / `<id>.npz` members), names bytes members by `uuid4()`,
writes sets in hash order (which changes per process for strings) and stamps every zip
member with the current time. `canonical` rewrites all of that.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from shipyard.workarounds.skops_without_torch import import_skops_io

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "builtins.")

SCHEMA = "schema.json"
# The zip epoch: no real timestamp, so the bytes do not depend on when a file was written.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_ATTR = 0o644 << 16  # a regular file, rw-r--r--, as Unix (create_system 3) reads it
# Members skops names after a memoized object's id(): numpy arrays and scipy sparse
# matrices. Bytes members get a uuid4 name instead, and are matched by `.bin`.
ID_MEMBER = re.compile(r"(\d+)\.(npy|npz)")
BYTES_MEMBER = re.compile(r"[0-9a-f-]+\.bin")


def dumps(obj: Any) -> bytes:
    """The skops file of `obj`, canonical: equal objects give equal bytes."""
    return canonical(import_skops_io().dumps(obj))


def dump(obj: Any, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(dumps(obj))


def load(path: str | Path) -> Any:
    sio = import_skops_io()
    untrusted = sio.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise ValueError(f"{path}: refusing to load untrusted types {refused}")
    return sio.load(path, trusted=untrusted)


def _is_node(value: Any) -> bool:
    # Every object skops saves is a dict with a `__loader__`; dict keys a user object
    # happens to have ("file", "__id__") sit one level down, under a DictNode's content,
    # and always map to node dicts, never to a bare int or str.
    return isinstance(value, dict) and isinstance(value.get("__loader__"), str)


def _without_ids(state: Any) -> Any:
    if isinstance(state, dict):
        return {k: _without_ids(v) for k, v in state.items() if k != "__id__"}
    if isinstance(state, list):
        return [_without_ids(v) for v in state]
    return state


def _sort_sets(state: Any) -> None:
    """Sets in a fixed order: skops writes them in iteration order, and a set of strings
    iterates in an order that depends on the process's hash seed."""
    if isinstance(state, dict):
        for value in state.values():
            _sort_sets(value)
        if _is_node(state) and state["__loader__"] == "SetNode":
            state["content"].sort(key=lambda e: json.dumps(_without_ids(e), sort_keys=True))
    elif isinstance(state, list):
        for value in state:
            _sort_sets(value)


class _Renamer:
    """New ids 1, 2, ... in order of first appearance (0 would not do: skops' loader
    skips memoizing a falsy id, so shared objects would load as copies), and member names
    that follow them. One mapping serves `__id__` and `<id>.npy` alike: skops names an
    array's member after the id of the very node that refers to it."""

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.members: dict[str, str] = {}  # old member name -> new, in first-reference order
        self.n_bytes = 0

    def id(self, old: int) -> int:
        return self.ids.setdefault(old, len(self.ids) + 1)

    def member(self, old: str) -> str:
        if old not in self.members:
            if match := ID_MEMBER.fullmatch(old):
                new = f"{self.id(int(match[1]))}.{match[2]}"
            elif BYTES_MEMBER.fullmatch(old):
                self.n_bytes += 1
                new = f"bytes-{self.n_bytes}.bin"
            else:
                raise ValueError(f"skops member {old!r}: a name this module cannot make stable")
            self.members[old] = new
        return self.members[old]

    def walk(self, state: Any) -> None:
        """Rename in place, depth first in document order (the order skops wrote)."""
        if isinstance(state, dict):
            if _is_node(state):
                if isinstance(state.get("__id__"), int):
                    state["__id__"] = self.id(state["__id__"])
                if isinstance(state.get("file"), str):
                    state["file"] = self.member(state["file"])
            for value in state.values():
                self.walk(value)
        elif isinstance(state, list):
            for value in state:
                self.walk(value)


def canonical(data: bytes) -> bytes:
    """A skops archive rewritten so its bytes depend only on the saved object: stable ids
    and member names, sets in sorted order, fixed zip dates and attributes, members in
    the order schema.json first refers to them and schema.json last (as skops writes)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read(SCHEMA))
        _sort_sets(schema)
        renamer = _Renamer()
        renamer.walk(schema)
        # Anything the schema does not refer to is a member a newer skops added in a way
        # this module does not know: refuse, rather than write a file that is not stable.
        unknown = set(archive.namelist()) - {SCHEMA, *renamer.members}
        if unknown:
            raise ValueError(f"skops archive members not referenced by {SCHEMA}: {unknown}")
        members = [(new, archive.read(old)) for old, new in renamer.members.items()]
    members.append((SCHEMA, json.dumps(schema, indent=2).encode()))

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = ZIP_ATTR
            archive.writestr(info, content)
    return out.getvalue()
