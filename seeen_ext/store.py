"""The annotation store: an append-only event log in SQLite (WAL), with the current state derived
from it.

Why a log and not a table of labels: every change is kept (who, when, what), undo is an appended
inverse event rather than a deletion, and a client that resends a batch after a lost response is
recognised by its event ids and not applied twice. The derived state (``labels``, ``excluded``)
is updated in the same transaction as the log, so it can never disagree with it; a method
returns only after the transaction has committed. Several processes and threads may write at
once: each write is one ``BEGIN IMMEDIATE`` transaction, and SQLite serialises them.

This module knows nothing of HTTP; the server's views validate nothing themselves and call it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pixplot.errors import UserError

#: The event types, exactly the server API's.
EVENT_TYPES = ("label", "unlabel", "exclude", "include", "rename_label", "delete_label", "split", "merge")
MAX_GROUPS = 64
MAX_ID_LEN = 128
MAX_LABEL_LEN = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL UNIQUE,   -- the client's event id (idempotency key)
    grp     TEXT NOT NULL,          -- the action it belongs to (its own id, or an undo/redo's)
    type    TEXT NOT NULL,
    author  TEXT NOT NULL,
    time    TEXT NOT NULL,
    body    TEXT NOT NULL,          -- the event as stored (JSON)
    effect  TEXT NOT NULL           -- [[field, item, before, after], ...] (JSON), for undo
);
CREATE TABLE IF NOT EXISTS actions (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    grp     TEXT NOT NULL UNIQUE,
    author  TEXT NOT NULL,
    kind    TEXT NOT NULL,          -- do | undo | redo
    target  TEXT NOT NULL           -- the 'do' action an undo/redo acts on (itself for 'do')
);
CREATE INDEX IF NOT EXISTS actions_author ON actions(author, seq);
CREATE TABLE IF NOT EXISTS labels (item TEXT PRIMARY KEY, label TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS labels_label ON labels(label);
CREATE TABLE IF NOT EXISTS excluded (item TEXT PRIMARY KEY);
-- Items a split or a merge moved out of their cluster: item -> group (docs/api.md).
CREATE TABLE IF NOT EXISTS groups (item TEXT PRIMARY KEY, grp TEXT NOT NULL);
"""


class EventError(ValueError):
    """A request names an unknown event type or item, or is malformed; nothing of it was applied.

    ``fields`` names the culprit for API clients (``event``, ``type``, ``item``)."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True)
class AppendResult:
    accepted: int  # events in the request now stored (new or already there)
    duplicates: int  # of those, how many were already stored (sent twice)
    version: int


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(ev: dict[str, Any], key: str, where: str, limit: int = MAX_LABEL_LEN, new: bool = True) -> str:
    """A non-empty string field. A ``new`` label may hold no control characters (NUL, newlines,
    tabs...): they break CSV rows, file names and terminals downstream. A field naming an existing
    label (``rename_label``'s ``from``, ``delete_label``) is not checked, so an older store's odd
    label can still be renamed away."""
    value = ev.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EventError(f"{where}: {key!r} must be a non-empty string", event=ev.get("id"), field=key)
    if len(value) > limit:
        raise EventError(f"{where}: {key!r} is longer than {limit} characters", event=ev.get("id"), field=key)
    if new and any(unicodedata.category(c) == "Cc" for c in value):
        raise EventError(f"{where}: {key!r} holds a control character (newline, tab, NUL...); write it on one line",
                         event=ev.get("id"), field=key)
    return value


def validate_event(ev: Any, known_items: set[str] | frozenset[str], index: int = 0) -> dict[str, Any]:
    """The stored form of one client event, or :class:`EventError` naming what is wrong."""
    if not isinstance(ev, dict):
        raise EventError(f"event {index}: not an object")
    eid = ev.get("id")
    if not isinstance(eid, str) or not eid or len(eid) > MAX_ID_LEN:
        raise EventError(f"event {index}: 'id' must be a string of 1 to {MAX_ID_LEN} characters", event=eid)
    where = f"event {eid!r}"
    etype = ev.get("type")
    if etype not in EVENT_TYPES:
        raise EventError(f"{where}: unknown event type {etype!r}", event=eid, type=etype)
    author = ev.get("author")
    if author is None:
        author = ""
    if not isinstance(author, str) or len(author) > MAX_ID_LEN:
        raise EventError(f"{where}: 'author' must be a string", event=eid, field="author")
    out: dict[str, Any] = {"id": eid, "type": etype, "author": author}
    if etype in ("label", "unlabel", "exclude", "include", "merge"):
        out["items"] = _items(ev.get("items"), known_items, where, eid)
        if etype == "label":
            out["label"] = _text(ev, "label", where)
        elif etype == "merge":
            into = ev.get("into")
            if into is not None:
                into = _text(ev, "into", where)
            out["into"] = into
            if ev.get("label") is not None:
                out["label"] = _text(ev, "label", where)
    elif etype == "split":
        groups = ev.get("groups")
        if not isinstance(groups, list) or not groups or len(groups) > MAX_GROUPS:
            raise EventError(f"{where}: 'groups' must be a list of 1 to {MAX_GROUPS} lists of item ids",
                             event=eid, field="groups")
        seen: set[str] = set()
        out["groups"] = []
        for g in groups:
            members = _items(g, known_items, where, eid, field="groups")
            if seen & set(members):
                raise EventError(f"{where}: an item is in two sub-groups", event=eid, field="groups")
            seen.update(members)
            out["groups"].append(members)
        if ev.get("of") is not None:
            out["of"] = _text(ev, "of", where)
    elif etype == "rename_label":
        out["from"] = _text(ev, "from", where, new=False)
        out["to"] = _text(ev, "to", where)
    else:  # delete_label
        out["label"] = _text(ev, "label", where, new=False)
    if isinstance(ev.get("time"), (str, int, float)):
        out["time"] = ev["time"]
    return out


def _items(items: Any, known_items: set[str] | frozenset[str], where: str, eid: str,
           field: str = "items") -> list[str]:
    if not isinstance(items, list) or not items:
        raise EventError(f"{where}: {field!r} must hold non-empty lists of item ids" if field != "items"
                         else f"{where}: 'items' must be a non-empty list of item ids", event=eid, field=field)
    for item in items:
        if not isinstance(item, str) or item not in known_items:
            raise EventError(f"{where}: unknown item id {item!r}", event=eid, item=item)
    return list(dict.fromkeys(items))


def group_name(event_id: str, k: int) -> str:
    """The name of sub-group ``k`` (from 1) of a split: derived from the event, so the browser
    that sent it and every replay name it the same."""
    return f"{event_id}/{k}"


def _group_effect(conn: sqlite3.Connection, moves: dict[str, str | None]) -> list[list[Any]]:
    before = _groups_of(conn, list(moves))
    return [["group", i, before.get(i), g] for i, g in moves.items() if before.get(i) != g]


def _effect(conn: sqlite3.Connection, ev: dict[str, Any]) -> list[list[Any]]:
    """What ``ev`` changes, as ``[field, item, before, after]`` rows; nothing for a no-op."""
    etype = ev["type"]
    if etype == "split":
        return _group_effect(conn, {i: group_name(ev["id"], k) for k, g in enumerate(ev["groups"], 1) for i in g})
    if etype == "merge":
        effect = _group_effect(conn, {i: ev["into"] for i in ev["items"]})
        if ev.get("label") is not None:
            effect += _effect(conn, {"type": "label", "items": ev["items"], "label": ev["label"]})
        return effect
    if etype in ("label", "unlabel"):
        after = ev.get("label") if etype == "label" else None
        before = _labels_of(conn, ev["items"])
        return [["label", i, before.get(i), after] for i in ev["items"] if before.get(i) != after]
    if etype in ("exclude", "include"):
        after = etype == "exclude"
        marked = _excluded_of(conn, ev["items"])
        return [["excluded", i, i in marked, after] for i in ev["items"] if (i in marked) != after]
    if etype == "rename_label":
        if ev["from"] == ev["to"]:
            return []
        rows = conn.execute("SELECT item FROM labels WHERE label = ? ORDER BY item", (ev["from"],))
        return [["label", r[0], ev["from"], ev["to"]] for r in rows]
    rows = conn.execute("SELECT item FROM labels WHERE label = ? ORDER BY item", (ev["label"],))
    return [["label", r[0], ev["label"], None] for r in rows]


def _chunks(seq: Sequence[str], n: int = 500) -> Iterator[Sequence[str]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _labels_of(conn: sqlite3.Connection, items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _chunks(items):
        q = "SELECT item, label FROM labels WHERE item IN ({})".format(",".join("?" * len(part)))
        out.update(conn.execute(q, tuple(part)).fetchall())
    return out


def _groups_of(conn: sqlite3.Connection, items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _chunks(items):
        q = "SELECT item, grp FROM groups WHERE item IN ({})".format(",".join("?" * len(part)))
        out.update(conn.execute(q, tuple(part)).fetchall())
    return out


def _excluded_of(conn: sqlite3.Connection, items: Sequence[str]) -> set[str]:
    out: set[str] = set()
    for part in _chunks(items):
        q = "SELECT item FROM excluded WHERE item IN ({})".format(",".join("?" * len(part)))
        out.update(r[0] for r in conn.execute(q, tuple(part)))
    return out


def _apply_effect(conn: sqlite3.Connection, effect: Iterable[Sequence[Any]]) -> None:
    for field, item, _before, after in effect:
        if field == "label":
            if after is None:
                conn.execute("DELETE FROM labels WHERE item = ?", (item,))
            else:
                conn.execute("INSERT OR REPLACE INTO labels(item, label) VALUES (?, ?)", (item, after))
        elif field == "group":
            if after is None:
                conn.execute("DELETE FROM groups WHERE item = ?", (item,))
            else:
                conn.execute("INSERT OR REPLACE INTO groups(item, grp) VALUES (?, ?)", (item, after))
        elif after:
            conn.execute("INSERT OR IGNORE INTO excluded(item) VALUES (?)", (item,))
        else:
            conn.execute("DELETE FROM excluded WHERE item = ?", (item,))


def _inverse_events(conn: sqlite3.Connection, effect: list[list[Any]]) -> list[dict[str, Any]]:
    """Public-type events that put back what ``effect`` changed, for the items nobody has changed
    since (another annotator's later edit is never clobbered by my undo)."""
    first: dict[tuple[str, str], Any] = {}
    last: dict[tuple[str, str], Any] = {}
    for field, item, before, after in effect:
        first.setdefault((field, item), before)
        last[(field, item)] = after
    label_items = [i for (f, i) in last if f == "label"]
    excl_items = [i for (f, i) in last if f == "excluded"]
    cur_labels = _labels_of(conn, label_items)
    cur_excl = _excluded_of(conn, excl_items)
    cur_groups = _groups_of(conn, [i for (f, i) in last if f == "group"])
    by_label: dict[str | None, list[str]] = {}
    by_flag: dict[bool, list[str]] = {}
    by_group: dict[str | None, list[str]] = {}
    for (field, item), after in last.items():
        before = first[(field, item)]
        if before == after:
            continue
        if field == "label" and cur_labels.get(item) == after:
            by_label.setdefault(before, []).append(item)
        elif field == "excluded" and (item in cur_excl) == after:
            by_flag.setdefault(before, []).append(item)
        elif field == "group" and cur_groups.get(item) == after:
            by_group.setdefault(before, []).append(item)
    events: list[dict[str, Any]] = []
    for label, items in by_label.items():
        if label is None:
            events.append({"type": "unlabel", "items": items})
        else:
            events.append({"type": "label", "items": items, "label": label})
    for flag, items in by_flag.items():
        events.append({"type": "exclude" if flag else "include", "items": items})
    for group, items in by_group.items():  # back to the group they were in (None: their cluster)
        events.append({"type": "merge", "items": items, "into": group})
    return events


class AnnotationStore:
    """One bundle's annotations. Safe to share between threads; each thread has its connection."""

    def __init__(self, path: str | Path, item_ids: Iterable[str]) -> None:
        self.path = Path(path)
        self.items = frozenset(item_ids)
        self._local = threading.local()
        try:
            self._conn().executescript(_SCHEMA)  # idempotent; each statement commits on its own
        except sqlite3.DatabaseError as exc:
            self.close()
            raise UserError(f"{self.path}: cannot open the annotation store ({exc}); make the bundle folder "
                            "writable, or move a damaged file aside") from exc

    # ------------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed transaction survives a power cut, not only a killed process.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN")  # one snapshot for the whole read
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    # ------------------------------------------------------------------ reads
    def state(self) -> dict[str, Any]:
        """``{"version", "labels": {item: label}, "excluded": [item, ...]}``, one consistent snapshot,
        limited to this bundle's items."""
        with self._read() as conn:
            labels = conn.execute("SELECT item, label FROM labels ORDER BY item").fetchall()
            excluded = [r[0] for r in conn.execute("SELECT item FROM excluded ORDER BY item")]
            groups = conn.execute("SELECT item, grp FROM groups ORDER BY item").fetchall()
            version = self._version(conn)
        # Items gone from this build (a file removed) keep their log; they come back if it does.
        return {"version": version, "labels": {i: lab for i, lab in labels if i in self.items},
                "excluded": [i for i in excluded if i in self.items],
                "groups": {i: g for i, g in groups if i in self.items}}

    def version(self) -> int:
        with self._read() as conn:
            return self._version(conn)

    def events(self, since: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """Stored events after version ``since``, oldest first, each with its ``seq``."""
        return self.log(since, limit)["events"]

    def log(self, since: int = 0, limit: int | None = None) -> dict[str, Any]:
        """``{"events": [...], "version": v}`` from one snapshot, so that a client polling with
        ``since`` = the last ``seq`` it saw never misses an event."""
        q = "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq"
        args: tuple[Any, ...] = (since,)
        if limit is not None:
            q += " LIMIT ?"
            args += (limit,)
        with self._read() as conn:
            events = [{**json.loads(body), "seq": seq} for seq, body in conn.execute(q, args)]
            return {"events": events, "version": self._version(conn)}

    def replay(self) -> dict[str, Any]:
        """The state recomputed from the log alone (a check that the derived tables are right)."""
        labels: dict[str, str] = {}
        excluded: set[str] = set()
        groups: dict[str, str] = {}
        with self._read() as conn:
            version = self._version(conn)
            for (effect,) in conn.execute("SELECT effect FROM events ORDER BY seq"):
                for field, item, _b, after in json.loads(effect):
                    if field in ("label", "group"):
                        target = labels if field == "label" else groups
                        if after is None:
                            target.pop(item, None)
                        else:
                            target[item] = after
                    elif after:
                        excluded.add(item)
                    else:
                        excluded.discard(item)
        return {"version": version, "labels": {i: lab for i, lab in sorted(labels.items()) if i in self.items},
                "excluded": sorted(excluded & self.items),
                "groups": {i: g for i, g in sorted(groups.items()) if i in self.items}}

    # ------------------------------------------------------------------ writes
    def append(self, events: Any, keep_time: bool = False) -> AppendResult:
        """Store and apply a batch of client events, all or none.

        The whole batch is validated first: an unknown type or item raises :class:`EventError`
        and nothing is stored. An event whose id is already stored is counted, not reapplied.
        ``keep_time`` keeps a client-supplied ``time`` (imports); otherwise the server's clock.
        """
        if not isinstance(events, list):
            raise EventError("'events' must be a list")
        clean = [validate_event(ev, self.items, i) for i, ev in enumerate(events)]
        new = dups = 0
        with self._write() as conn:
            for ev in clean:
                if conn.execute("SELECT 1 FROM events WHERE id = ?", (ev["id"],)).fetchone():
                    dups += 1
                    continue
                client_time = ev.pop("time", None)
                ev["time"] = str(client_time) if keep_time and client_time is not None else _now()
                self._store(conn, ev, grp=ev["id"])
                conn.execute(
                    "INSERT INTO actions(grp, author, kind, target) VALUES (?, ?, 'do', ?)",
                    (ev["id"], ev["author"], ev["id"]),
                )
                new += 1
            version = self._version(conn)
        return AppendResult(accepted=new + dups, duplicates=dups, version=version)

    def _store(self, conn: sqlite3.Connection, ev: dict[str, Any], grp: str) -> None:
        effect = _effect(conn, ev)
        _apply_effect(conn, effect)
        conn.execute(
            "INSERT INTO events(id, grp, type, author, time, body, effect) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (ev["id"], grp, ev["type"], ev["author"], ev["time"], json.dumps(ev, ensure_ascii=False),
             json.dumps(effect, ensure_ascii=False)),
        )

    def _stacks(self, conn: sqlite3.Connection, author: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The author's undo and redo stacks of (target action, group that last applied it)."""
        undo: list[tuple[str, str]] = []
        redo: list[tuple[str, str]] = []
        rows = conn.execute("SELECT grp, kind, target FROM actions WHERE author = ? ORDER BY seq", (author,))
        for grp, kind, target in rows:
            if kind == "do":
                undo.append((target, grp))
                redo.clear()
            elif kind == "undo":
                if undo and undo[-1][0] == target:
                    undo.pop()
                redo.append((target, grp))
            elif redo and redo[-1][0] == target:
                redo.pop()
                undo.append((target, grp))
        return undo, redo

    def undo(self, author: str = "", request_id: str | None = None) -> dict[str, Any]:
        """Revert the author's last action by appending its inverse events."""
        return self._undo_redo("undo", author, request_id)

    def redo(self, author: str = "", request_id: str | None = None) -> dict[str, Any]:
        """Re-apply the author's last undone action (until they do something new)."""
        return self._undo_redo("redo", author, request_id)

    def _undo_redo(self, kind: str, author: str, request_id: str | None) -> dict[str, Any]:
        if not isinstance(author, str) or len(author) > MAX_ID_LEN:
            raise EventError("'author' must be a string")
        if request_id is not None and (not isinstance(request_id, str) or not request_id
                                       or len(request_id) > MAX_ID_LEN):
            raise EventError(f"'id' must be a string of 1 to {MAX_ID_LEN} characters")
        grp = request_id or f"{kind}-{uuid.uuid4()}"
        with self._write() as conn:
            seen = conn.execute("SELECT target FROM actions WHERE grp = ?", (grp,)).fetchone()
            if seen:  # the same undo sent twice: done once
                return {"event": seen[0], "version": self._version(conn)}
            undo, redo = self._stacks(conn, author)
            stack = undo if kind == "undo" else redo
            if not stack:
                return {"event": None, "version": self._version(conn)}
            target, last_grp = stack[-1]
            effect: list[list[Any]] = []
            for (eff,) in conn.execute("SELECT effect FROM events WHERE grp = ? ORDER BY seq", (last_grp,)):
                effect.extend(json.loads(eff))
            now = _now()
            for n, inv in enumerate(_inverse_events(conn, effect)):
                ev = {"id": f"{grp}#{n}", **inv, "author": author, kind: target, "time": now}
                self._store(conn, ev, grp=grp)
            conn.execute(
                "INSERT INTO actions(grp, author, kind, target) VALUES (?, ?, ?, ?)", (grp, author, kind, target)
            )
            return {"event": target, "version": self._version(conn)}


#: The folder beside ``data/`` that holds what must never be published: the annotation store
#: (labels and annotator names). A dot-folder (static hosts and ``pixplot serve`` skip those) of
#: mode 0700, so a web server running as another user cannot read it even if asked.
PRIVATE_DIR = ".pixplot"
STORE_NAME = "annotations.sqlite"


def store_path(bundle_root: str | Path) -> Path:
    """Where a bundle's store lives: ``.pixplot/annotations.sqlite``, outside the published tree."""
    return Path(bundle_root) / PRIVATE_DIR / STORE_NAME


def legacy_store_path(bundle_root: str | Path) -> Path:
    """Where bundles served before the move kept their store (published with the bundle)."""
    return Path(bundle_root) / STORE_NAME


def existing_store(bundle_root: str | Path) -> Path | None:
    """The store a bundle has, at its new or its legacy place, without creating or moving one
    (for readers of another bundle, which may be read-only)."""
    for p in (store_path(bundle_root), legacy_store_path(bundle_root)):
        if p.is_file():
            return p
    return None


def _counts(conn: sqlite3.Connection) -> tuple[int, int, int, int]:
    return tuple(int(conn.execute(q).fetchone()[0]) for q in (  # type: ignore[return-value]
        "SELECT COUNT(*) FROM events", "SELECT COALESCE(MAX(seq), 0) FROM events",
        "SELECT COUNT(*) FROM labels", "SELECT COUNT(*) FROM excluded"))


def migrate_legacy_store(bundle_root: str | Path) -> Path | None:
    """Move a store from inside the published tree to :func:`store_path`, losing nothing.

    SQLite's backup API copies the database with its write-ahead log applied; the copy is checked
    (events, version, labels, exclusions) before the old files are removed. Returns the new path,
    or None when there was nothing to move."""
    old, new = legacy_store_path(bundle_root), store_path(bundle_root)
    if not old.is_file():
        return None
    if new.exists():
        raise UserError(f"{old}: an older annotation store is still in the published folder, and {new} exists "
                        f"too; keep one (move the other aside) and run again")
    new.parent.mkdir(mode=0o700, exist_ok=True)
    tmp = new.with_name(f".{STORE_NAME}.migrating")
    tmp.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(old, timeout=60)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)
                same = _counts(src) == _counts(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{old}: cannot move the annotation store out of the published folder ({exc})") from exc
    if not same:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{old}: the copy at {tmp} did not match the original; nothing was moved")
    os.replace(tmp, new)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{old}{suffix}").unlink(missing_ok=True)
    return new


def open_store(bundle: Any) -> AnnotationStore:
    """The store of an opened bundle (:func:`pixplot.bundle.open_bundle`), created if new;
    a store left inside the published tree by an older version is moved out first."""
    migrate_legacy_store(bundle.root)
    path = store_path(bundle.root)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    return AnnotationStore(path, bundle.ids)
