"""The record store: documents, flags, runs, failures, feedback and score snapshots."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError

from undertow.errors import CorruptFileError, StoreUnreachable
from undertow.masking import mask_url
from undertow.store import migrations, schema


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass
class StoredDocument:
    """What ingestion hands to the store for one document, with its sentence embeddings."""

    row: dict
    spans: list[tuple[int, int]]
    vectors: np.ndarray
    flags: list[dict]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets `status` read while a nightly run writes; a busy timeout rides out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _run_is_dead(detail: str, host: str) -> bool:
    """Whether a run marked running was started here by a process that has gone (a run recorded
    before runs named their process counts as gone, as it always did)."""
    try:
        owner = json.loads(detail) if detail else {}
    except ValueError:
        owner = {}
    if not isinstance(owner, dict) or "pid" not in owner:
        return True
    if owner.get("host") != host:
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def _not_rejected():
    """The condition a flag meets unless a CSM rejected it (`undertow feedback --reject`)."""
    f, fb = schema.flags.c, schema.feedback.c
    return ~select(fb.doc_id).where(fb.doc_id == f.doc_id, fb.signal == f.signal, fb.present.is_(False)).exists()


def encode_vectors(vectors: np.ndarray) -> bytes:
    return np.asarray(vectors, dtype=np.float16).tobytes()


def engine_url(url: str) -> str:
    """`postgresql://` as people write it, driven by psycopg 3 (the `postgres` extra), which
    SQLAlchemy would otherwise look for as psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _unreachable_server(url: str):
    """A `handle_error` hook: a server that refuses or drops the connection (at the first query or
    mid-run) becomes one line naming the setting, not a driver's traceback."""

    def handle(context) -> None:
        if isinstance(context.sqlalchemy_exception, OperationalError):
            reason = str(context.original_exception).strip().splitlines()
            raise StoreUnreachable(
                f"the record store {mask_url(url)} cannot be reached ({reason[0] if reason else 'connection failed'}): "
                "check UNDERTOW_DATABASE_URL (or database_url in config.toml) and that the database is up"
            ) from None

    return handle


class RecordStore:
    def __init__(self, url: str):
        self.url = url
        self.engine: Engine = create_engine(engine_url(url), future=True)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:  # SQLite's OperationalErrors (a busy file) are handled where they happen
            event.listen(self.engine, "handle_error", _unreachable_server(url))
        try:
            # Made, or brought up to date, by the schema's revisions; a newer store is refused.
            # `backup`: the copy of a SQLite file this open made before upgrading it, if any.
            self.backup = migrations.bring_up_to_date(self.engine)
        except OperationalError:
            raise  # locked, unreachable, no permission: not damage, and not doctor's to fix
        except DatabaseError as error:
            # "file is not a database", "database disk image is malformed": one line, not a traceback.
            reason = str(error.orig).splitlines()[0] if error.orig else type(error).__name__
            raise CorruptFileError(f"the record store {mask_url(url)} cannot be read ({reason}): run `undertow doctor`") from None

    # --- documents -----------------------------------------------------------------------------
    def known_versions(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """id -> (content_hash, embed_model) for the ids already stored."""
        ids = list(ids)
        found: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                rows = conn.execute(
                    select(schema.documents.c.id, schema.documents.c.content_hash, schema.documents.c.embed_model).where(
                        schema.documents.c.id.in_(chunk)
                    )
                )
                found.update({row.id: (row.content_hash, row.embed_model) for row in rows})
        return found

    def accounts_of(self, ids: Iterable[str]) -> dict[str, str]:
        """id -> account_id for the ids already stored."""
        ids = list(ids)
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk_start in range(0, len(ids), 500):
                rows = conn.execute(
                    select(schema.documents.c.id, schema.documents.c.account_id).where(schema.documents.c.id.in_(ids[chunk_start : chunk_start + 500]))
                )
                found.update({row.id: row.account_id for row in rows})
        return found

    def ids_by_text_key(self, keys: Iterable[str]) -> dict[str, str]:
        """text_key -> id of a stored document with those words (see Document.text_key)."""
        keys = list(keys)
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk_start in range(0, len(keys), 500):
                chunk = keys[chunk_start : chunk_start + 500]
                rows = conn.execute(
                    select(schema.documents.c.text_key, schema.documents.c.id).where(schema.documents.c.text_key.in_(chunk))
                )
                found.update({row.text_key: row.id for row in rows})
        return found

    def save_documents(self, batch: list[StoredDocument]) -> list[str]:
        """Insert or replace documents and their flags in one transaction: all or nothing.

        The ids of the documents not stored because their words are stored under another id
        (text_key is unique: another process sharing the store got there first)."""
        not_stored: list[str] = []
        while batch:
            try:
                self._save(batch)
                return not_stored
            except IntegrityError:
                taken = self._stored_under_other_ids(batch)
                if not taken:
                    raise  # not a duplicate's words: a real fault, not to be hidden
                not_stored += [item.row["id"] for item in batch if item.row["id"] in taken]
                batch = [item for item in batch if item.row["id"] not in taken]
        return not_stored

    def _stored_under_other_ids(self, batch: list[StoredDocument]) -> set[str]:
        ids = {item.row["id"] for item in batch}
        holders = self.ids_by_text_key(item.row["text_key"] for item in batch if item.row.get("text_key"))
        return {item.row["id"] for item in batch if holders.get(item.row.get("text_key"), item.row["id"]) not in ids}

    def _save(self, batch: list[StoredDocument]) -> None:
        ids = [item.row["id"] for item in batch]
        with self.engine.begin() as conn:
            confirmed = _confirmed_flags_missing_from(conn, ids, [flag for item in batch for flag in item.flags])
            conn.execute(delete(schema.flags).where(schema.flags.c.doc_id.in_(ids)))
            conn.execute(delete(schema.documents).where(schema.documents.c.id.in_(ids)))
            conn.execute(
                insert(schema.documents),
                [
                    {
                        **item.row,
                        "sentence_spans": json.dumps(item.spans),
                        "sentence_vectors": encode_vectors(item.vectors),
                    }
                    for item in batch
                ],
            )
            flag_rows = [flag for item in batch for flag in item.flags] + confirmed
            if flag_rows:
                conn.execute(insert(schema.flags), flag_rows)

    def replace_flags(self, doc_ids: list[str], flag_rows: list[dict]) -> None:
        with self.engine.begin() as conn:
            flag_rows = flag_rows + _confirmed_flags_missing_from(conn, doc_ids, flag_rows)
            conn.execute(delete(schema.flags).where(schema.flags.c.doc_id.in_(doc_ids)))
            if flag_rows:
                conn.execute(insert(schema.flags), flag_rows)

    def add_flags(self, flag_rows: list[dict]) -> None:
        if flag_rows:
            with self.engine.begin() as conn:
                conn.execute(insert(schema.flags), flag_rows)

    def flagged_signals(self, doc_id: str) -> set[str]:
        with self.engine.connect() as conn:
            return {row.signal for row in conn.execute(select(schema.flags.c.signal).where(schema.flags.c.doc_id == doc_id))}

    def iter_documents(self, account_id: str | None = None, with_vectors: bool = False) -> Iterator[dict]:
        columns = [c for c in schema.documents.c if with_vectors or c.name not in ("sentence_vectors", "sentence_spans")]
        query = select(*columns).order_by(schema.documents.c.date, schema.documents.c.id)
        if account_id is not None:
            query = query.where(schema.documents.c.account_id == account_id)
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield dict(row._mapping)

    def get_document(self, doc_id: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(schema.documents).where(schema.documents.c.id == doc_id)).first()
        return dict(row._mapping) if row else None

    def flags(self, account_id: str | None = None, include_rejected: bool = False) -> list[dict]:
        """Flags with their documents' date, source and subject, newest first. A flag a CSM rejected
        (`undertow feedback --reject`) counts nowhere from that moment: it is left out unless
        `include_rejected` (the workspace shows it, with the verdict)."""
        query = (
            select(schema.flags, schema.documents.c.date, schema.documents.c.source, schema.documents.c.subject)
            .join(schema.documents, schema.documents.c.id == schema.flags.c.doc_id)
            .order_by(schema.documents.c.date.desc())
        )
        if account_id is not None:
            query = query.where(schema.flags.c.account_id == account_id)
        if not include_rejected:
            query = query.where(_not_rejected())
        with self.engine.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        for row in rows:
            row["evidence"] = json.loads(row["evidence"])
        return rows

    def accounts(self) -> list[dict]:
        """Accounts seen in documents: id, name and document count."""
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(self._accounts_query())]

    @staticmethod
    def _accounts_query():
        d = schema.documents.c
        return select(d.account_id, func.max(d.account_name).label("account_name"), func.count().label("documents")).group_by(d.account_id)

    # --- runs and failures --------------------------------------------------------------------
    def start_run(self, kind: str) -> int:
        """A new run, marked running with this machine and process until it finishes."""
        me = {"host": socket.gethostname(), "pid": os.getpid()}
        with self.engine.begin() as conn:
            # A run of this machine still marked running whose process is gone was killed: say so
            # instead of leaving it open forever. Another machine's may be running now (a store
            # shared through PostgreSQL); that machine's next run judges it.
            running = conn.execute(select(schema.runs.c.id, schema.runs.c.detail).where(schema.runs.c.status == "running")).all()
            dead = [row.id for row in running if _run_is_dead(row.detail, me["host"])]
            if dead:
                conn.execute(update(schema.runs).where(schema.runs.c.id.in_(dead)).values(status="interrupted"))
            result = conn.execute(insert(schema.runs).values(kind=kind, started_at=utcnow(), status="running", detail=json.dumps(me)))
            return int(result.inserted_primary_key[0])

    def finish_run(self, run_id: int, status: str, counts: dict, seconds: float, detail: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.id == run_id)
                .values(status=status, finished_at=utcnow(), seconds=seconds, detail=detail, **counts)
            )

    def record_failure(self, run_id: int, path: str, line: int | None, reason: str, raw: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.failures).values(run_id=run_id, path=path, line=line, reason=reason, raw=raw[:20000]))

    def last_runs(self, limit: int = 5) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.runs).order_by(schema.runs.c.id.desc()).limit(limit))
            return [dict(row._mapping) for row in rows]

    def counts(self) -> dict[str, int]:
        """Flags as they count everywhere else: a flag a CSM rejected is not one (see `flags`)."""
        standing = _not_rejected()
        with self.engine.connect() as conn:
            def count(table, column=None, where=None) -> int:
                expr = func.count(func.distinct(column)) if column is not None else func.count()
                query = select(expr).select_from(table)
                return int(conn.execute(query if where is None else query.where(where)).scalar_one())

            return {
                "documents": count(schema.documents),
                "accounts": count(schema.documents, schema.documents.c.account_id),
                "flags": count(schema.flags, where=standing),
                "flagged_documents": count(schema.flags, schema.flags.c.doc_id, where=standing),
                "feedback": count(schema.feedback),
                "failures": self._current_failures(conn),
            }

    def failures_recorded(self) -> int:
        """Every failure row of every run: the history that `counts()["failures"]` does not sum."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.failures)).scalar_one())

    @staticmethod
    def _current_failures(conn) -> int:
        """The failures of each file's latest run that failed on it. Every run keeps its own rows
        (the history), so counting them all would count the same bad line again on every rerun.
        A run records no row for a file it read cleanly, so a file fixed since still shows the
        failures of its last failing run."""
        failures = schema.failures
        latest = select(failures.c.path, func.max(failures.c.run_id).label("run_id")).group_by(failures.c.path).subquery()
        joined = failures.join(latest, (failures.c.path == latest.c.path) & (failures.c.run_id == latest.c.run_id))
        return int(conn.execute(select(func.count()).select_from(joined)).scalar_one())

    def embed_models(self) -> list[str]:
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(select(func.distinct(schema.documents.c.embed_model)))]

    # --- feedback -------------------------------------------------------------------------------
    def add_feedback(self, doc_id: str, signal: str, present: bool, author: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(schema.feedback).where(schema.feedback.c.doc_id == doc_id, schema.feedback.c.signal == signal)
            )
            conn.execute(
                insert(schema.feedback).values(doc_id=doc_id, signal=signal, present=present, author=author, created_at=utcnow())
            )

    def withdraw_feedback(self, doc_id: str, signals: list[str], confirmed_by: str) -> list[str]:
        """Delete the document's verdicts on `signals`, and the flags that only a confirmation put
        there (backend `confirmed_by`); the signals that had a verdict."""
        fb, f = schema.feedback.c, schema.flags.c
        with self.engine.begin() as conn:
            had = sorted(row.signal for row in conn.execute(select(fb.signal).where(fb.doc_id == doc_id, fb.signal.in_(signals))))
            conn.execute(delete(schema.feedback).where(fb.doc_id == doc_id, fb.signal.in_(had)))
            conn.execute(delete(schema.flags).where(f.doc_id == doc_id, f.signal.in_(had), f.backend == confirmed_by))
        return had

    def feedback_stamp(self) -> tuple:
        """(count, newest) of the verdicts: what changes whenever a CSM gives one."""
        with self.engine.connect() as conn:
            return tuple(conn.execute(select(func.count(), func.max(schema.feedback.c.created_at)).select_from(schema.feedback)).one())

    def feedback(self) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(schema.feedback))]

    # --- score snapshots ------------------------------------------------------------------------
    def save_snapshots(self, rows: list[dict]) -> None:
        """One snapshot per account and day: a second run the same day replaces the first."""
        if not rows:
            return
        with self.engine.begin() as conn:
            for row in rows:
                conn.execute(
                    delete(schema.score_snapshots).where(
                        schema.score_snapshots.c.account_id == row["account_id"],
                        schema.score_snapshots.c.as_of == row["as_of"],
                    )
                )
            conn.execute(insert(schema.score_snapshots), rows)

    def snapshots(self, account_id: str | None = None, before: dt.datetime | None = None) -> list[dict]:
        query = select(schema.score_snapshots).order_by(schema.score_snapshots.c.as_of)
        if account_id is not None:
            query = query.where(schema.score_snapshots.c.account_id == account_id)
        if before is not None:
            query = query.where(schema.score_snapshots.c.as_of < before)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def scored_account_ids(self) -> list[str]:
        """Accounts with at least one snapshot, each once: far fewer rows than the snapshots."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(schema.score_snapshots.c.account_id).distinct()).scalars())

    def snapshots_on(self, as_of: dt.datetime) -> list[dict]:
        """Every account's snapshot of one day: the portfolio as that day's `annotate` scored it."""
        query = select(schema.score_snapshots).where(schema.score_snapshots.c.as_of == as_of)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def last_snapshot_day(self) -> dt.date | None:
        """The day of the newest snapshot: the latest scoring the store knows of."""
        with self.engine.connect() as conn:
            newest = conn.execute(select(func.max(schema.score_snapshots.c.as_of))).scalar()
        return newest.date() if newest else None

    # --- reviews: a person's note on an account, kept with the snapshot of that day ---------------
    def add_review(self, account_id: str, as_of: dt.datetime, note: str, author: str = "") -> dict:
        row = {"account_id": account_id, "as_of": as_of, "note": note, "author": author, "reviewed_at": utcnow()}
        with self.engine.begin() as conn:
            conn.execute(insert(schema.account_reviews).values(**row))
        return row

    def reviews(self, as_of: dt.datetime | None = None, account_id: str | None = None) -> list[dict]:
        """Oldest first, so a caller keeping the last one per account keeps the latest."""
        table = schema.account_reviews
        query = select(table).order_by(table.c.reviewed_at, table.c.id)
        if as_of is not None:
            query = query.where(table.c.as_of == as_of)
        if account_id is not None:
            query = query.where(table.c.account_id == account_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def _confirmed_flags_missing_from(conn, doc_ids: list[str], flag_rows: list[dict]) -> list[dict]:
    """The stored flags of `doc_ids` that a CSM confirmed and `flag_rows` (a classifier's new
    verdict) lack: a person's confirmation outlives a classifier that disagrees."""
    f, fb = schema.flags.c, schema.feedback.c
    new = {(row["doc_id"], row["signal"]) for row in flag_rows}
    kept = []
    for start in range(0, len(doc_ids), 500):
        query = select(schema.flags).join(schema.feedback, (fb.doc_id == f.doc_id) & (fb.signal == f.signal)).where(
            f.doc_id.in_(doc_ids[start : start + 500]), fb.present.is_(True)
        )
        kept += [dict(row._mapping) for row in conn.execute(query) if (row.doc_id, row.signal) not in new]
    return kept
