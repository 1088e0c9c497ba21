"""ServerSideSession: loaded on first use, a full dict, knows what changed."""

from __future__ import annotations

import contextlib
import sys
import typing as t

import pytest

from flask_dynamodb_session import serialization
from flask_dynamodb_session.layout import Record
from flask_dynamodb_session.session import ServerSideSession

if t.TYPE_CHECKING:
    from collections.abc import Iterator

SID = "S" * 43


class Loader:
    def __init__(self, data: dict[str, t.Any] | None) -> None:
        self.data = data
        self.loads = 0

    def __call__(self, sid: str) -> Record | None:
        self.loads += 1
        if self.data is None:
            return None
        payload = serialization.encode(self.data)
        return Record(serialization.decode(payload), 3, 2**40, 0, payload)


def stored(data: dict[str, t.Any] | None) -> tuple[ServerSideSession, Loader]:
    loader = Loader(data)
    return ServerSideSession(SID, loader), loader


def test_not_loaded_until_used() -> None:
    session, loader = stored({"a": 1})
    assert not session.loaded
    assert not session.accessed
    assert repr(session) == "<ServerSideSession (not loaded)>"
    assert session["a"] == 1
    assert loader.loads == 1
    assert session.loaded
    assert session.accessed
    session.get("a")
    assert loader.loads == 1


@pytest.mark.parametrize(
    "use",
    [
        lambda s: s["a"],
        lambda s: s.get("a"),
        lambda s: "a" in s,
        lambda s: list(s),
        lambda s: len(s),
        lambda s: s.keys(),
        lambda s: s.values(),
        lambda s: s.items(),
        lambda s: s == {},
        lambda s: s != {},
        lambda s: s.copy(),
        lambda s: s | {},
        lambda s: {} | s,
        lambda s: list(reversed(s)),
        lambda s: dict(s),
        lambda s: s.permanent,
        lambda s: s.sid,
        lambda s: s.new,
        lambda s: bool(s),
    ],
)
def test_every_read_loads(use: t.Callable[[ServerSideSession], t.Any]) -> None:
    session, loader = stored({"a": 1})
    use(session)
    assert loader.loads == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.setdefault("b", 2),
        lambda s: s.update(b=2),
        lambda s: s.__ior__({"b": 2}),
    ],
)
def test_every_change_loads_and_marks_modified(
    change: t.Callable[[ServerSideSession], t.Any],
) -> None:
    session, loader = stored({"a": 1})
    change(session)
    assert loader.loads == 1
    assert session.modified


def test_reads_do_not_mark_modified() -> None:
    session, _ = stored({"a": 1})
    session.get("a")
    session.pop("missing", None)
    session.setdefault("a", 5)
    assert not session.modified


def test_missing_item_gives_a_new_empty_session_with_a_fresh_id() -> None:
    session, _ = stored(None)
    assert dict(session) == {}
    assert session.new
    assert session.sid != SID
    assert len(session.sid) == 43


def test_new_session_never_loads() -> None:
    session = ServerSideSession(None, Loader({"a": 1}))
    assert session.loaded
    assert session.new
    assert dict(session) == {}


def test_changes_finds_nested_mutation_and_type_changes() -> None:
    session, _ = stored({"cart": [1], "flag": 1, "gone": "x", "same": {"k": [1]}})
    session["cart"].append(2)
    session["flag"] = True
    del session["gone"]
    session["new"] = None
    changed, removed = session.changes()
    assert changed == {"cart", "flag", "new"}
    assert removed == {"gone"}


def test_changes_of_an_untouched_session_are_empty() -> None:
    session, _ = stored({"cart": [1, (2, 3)], "when": {"a": b"x"}})
    session["cart"] = [1, (2, 3)]
    assert session.changes() == (set(), set())
    assert session.modified


def test_regenerate() -> None:
    session, _ = stored({"a": 1})
    session.regenerate()
    assert session.sid != SID
    assert session.new
    assert session.predecessor == SID
    assert session.discarded == []
    assert dict(session) == {"a": 1}
    assert session.record is not None
    assert session.record.data == {"a": 1}


def test_regenerate_twice_keeps_the_stored_predecessor() -> None:
    session, _ = stored({"a": 1})
    session.regenerate()
    first = session.sid
    session.regenerate()
    assert session.sid not in (SID, first)
    assert session.predecessor == SID


def test_clear_needs_no_read() -> None:
    session, loader = stored({"a": 1})
    session.clear()
    assert loader.loads == 0
    assert session.discarded == [SID]
    assert session.sid != SID
    assert dict(session) == {}
    assert session.modified


def test_clear_of_a_new_session_discards_nothing() -> None:
    session = ServerSideSession(None)
    session["a"] = 1
    session.clear()
    assert session.discarded == []


def test_failed_load_blocks_the_save() -> None:
    def broken(sid: str) -> Record | None:
        raise RuntimeError("down")

    session = ServerSideSession(SID, broken)
    with pytest.raises(RuntimeError):
        session.get("a")
    assert session.save_blocked
    assert not session.loaded


def test_is_a_dict() -> None:
    session, _ = stored({"a": 1})
    assert isinstance(session, dict)
    with pytest.raises(TypeError):
        hash(session)


def test_a_session_holding_nan_read_again_has_no_changes() -> None:
    nan = float("nan")
    session, _ = stored({"score": nan, "history": [1.5, {"best": nan}]})
    assert session["score"] != session["score"]
    assert session.changes() == (set(), set())


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (1, True),
        (True, 1),
        (1, 1.0),
        (1.0, 1),
        (0.0, -0.0),
        (float("nan"), 1.0),
        ([1], [1.0]),
        ({"k": (1,)}, {"k": (True,)}),
    ],
)
def test_values_stored_differently_are_changes(before: t.Any, after: t.Any) -> None:
    session, _ = stored({"value": before})
    session["value"] = after
    assert session.changes() == ({"value"}, set())


def _frames_left() -> int:
    """How many more nested Python calls the caller can make."""

    def deeper(depth: int) -> int:
        try:
            return deeper(depth + 1)
        except RecursionError:
            return depth

    return deeper(0)


@contextlib.contextmanager
def stack_left(frames: int) -> Iterator[None]:
    """Run as if deep in a request, with only ``frames`` calls to spare."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit - _frames_left() + frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def _nested(levels: int, wrap: t.Callable[[t.Any], t.Any]) -> t.Any:
    """``levels`` containers, each holding the next, an empty list innermost."""
    value: t.Any = []
    for _ in range(levels - 1):
        value = wrap(value)
    return value


def _innermost(value: t.Any) -> t.Any:
    """The empty list at the bottom of what :func:`_nested` built."""
    while value:
        value = (
            value[0] if isinstance(value, (list, tuple)) else next(iter(value.values()))
        )
    return value


WRAPS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "list": lambda value: [value],
    "tuple": lambda value: (value, "x"),
    "tag-like dict": lambda value: {" t": value},
}


@pytest.mark.parametrize("wrap", list(WRAPS.values()), ids=list(WRAPS))
def test_the_deepest_storable_value_can_be_read_changed_and_stored_again(
    wrap: t.Callable[[t.Any], t.Any],
) -> None:
    data = {"deep": _nested(serialization.MAX_DEPTH - 1, wrap)}
    with stack_left(300):
        session, _ = stored(data)
        _innermost(session["deep"]).append(1)
        changes = session.changes()
        payload = serialization.encode(session)
    assert changes == ({"deep"}, set())
    assert serialization.decode(payload) == dict(session) != data


def test_a_value_too_deep_to_store_is_refused_at_the_first_store() -> None:
    session = ServerSideSession(None)
    session["deep"] = _nested(serialization.MAX_DEPTH, WRAPS["list"])
    with pytest.raises(ValueError, match="levels deep"):
        serialization.encode(session)
