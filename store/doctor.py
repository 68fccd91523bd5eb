"""`undertow doctor`: can every file of a home be read back, and do the vectors match the records?

Checks the home folder's permissions, the record store (SQLite's own integrity check), the vector
store (opens; one collection per embedding model; as many vectors as documents; a nearest-neighbour
search finds known documents) and the classifier model. Each check says ok or names the problem
with a one-line fix.

The vector store is checked in a child process: a damaged Chroma index can crash the process that
reads it (a segfault in native code), and the doctor must live to report that.

`rebuild_vectors` refills the vector store from the record store, which keeps every document's
sentence vectors: nothing is re-read or re-embedded, and the old index is moved aside, not deleted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from undertow.errors import CorruptFileError, StoreUnreachable
from undertow.masking import mask_url
from undertow.private import make_private
from undertow.settings import Settings
from undertow.store import schema
from undertow.store.lock import writer_now
from undertow.store.records import RecordStore

OK, PROBLEM, SKIPPED = "ok", "problem", "skipped"
RECORD_STORE = "record store"
REBUILD_FIX = "run `undertow doctor --rebuild-vectors` (rebuilds from the stored sentence vectors, nothing is re-embedded)"
PROBES_PER_MODEL = 3  # documents looked up by their own vector: first, middle and last by id
PROBE_TIMEOUT_S = 600  # loading a large HNSW index takes a while; a hung read must still end
REBUILD_BATCH = 256
# The child process that opens Chroma; a test replaces it with one that crashes.
PROBE_CODE = "from undertow.store.doctor import probe_main; probe_main()"
PROBE_MARK = "undertow-probe:"


@dataclass
class Check:
    name: str
    status: str  # ok | problem | skipped
    detail: str
    fix: str = ""


@dataclass
class Diagnosis:
    checks: list[Check]
    documents: dict[str, int] = field(default_factory=dict)  # embedding model -> stored documents

    @property
    def ok(self) -> bool:
        return all(check.status != PROBLEM for check in self.checks)

    @property
    def records_readable(self) -> bool:
        """The vectors can only be rebuilt from a record store that reads back."""
        return all(check.status == OK for check in self.checks if check.name == RECORD_STORE)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "documents": self.documents, "checks": [asdict(check) for check in self.checks]}


@dataclass
class Rebuild:
    documents: int
    moved_aside: str | None  # where the old embedded index went
    seconds: float


def diagnose(settings: Settings) -> Diagnosis:
    record_check, records, documents = check_record_store(settings)
    return Diagnosis(
        checks=[
            check_home(settings.resolved_home),
            record_check,
            check_vector_store(settings, records, documents),
            check_classifier(settings),
        ],
        documents=documents or {},
    )


# --- home folder ----------------------------------------------------------------------------------
def check_home(home: Path) -> Check:
    tightened = make_private(home)
    note = f"; {tightened} files or folders others could read were made owner-only" if tightened else ""
    return Check("home folder", OK, f"{home}: readable by its owner only{note}")


# --- record store ---------------------------------------------------------------------------------
def check_record_store(settings: Settings) -> tuple[Check, RecordStore | None, dict[str, int] | None]:
    """The check, the open store and its documents per embedding model (None when it cannot be read)."""
    name = RECORD_STORE
    where = mask_url(settings.sqlite_url)
    if settings.database_url is None:
        path = settings.resolved_home / "undertow.db"
        where = str(path)
        if not path.exists():
            return Check(name, OK, f"{path}: not created yet (nothing ingested)"), None, {}
        damage = sqlite_damage(path)
        if damage:
            fix = (
                f"restore {path.name} from a backup, or move it aside (`sqlite3 {path.name} .recover` may save its feedback) "
                "and run `undertow ingest` on your exports again"
            )
            return Check(name, PROBLEM, f"{path} {damage}", fix), None, None
    try:
        records = RecordStore(settings.sqlite_url)
        documents = documents_per_model(records)
    except (CorruptFileError, StoreUnreachable, SQLAlchemyError) as error:
        fix = f"check that you can write to {where}" if settings.database_url is None else "check UNDERTOW_DATABASE_URL and that the database is up"
        return Check(name, PROBLEM, f"{where} cannot be read ({_first_line(error)})", fix), None, None
    integrity = ", integrity ok" if settings.database_url is None else ""
    return Check(name, OK, f"{where}: {sum(documents.values())} documents{integrity}"), records, documents


def sqlite_damage(path: Path) -> str | None:
    """What SQLite's own integrity check finds wrong with the file, or None when it is sound."""
    try:
        # mode=rw: a check must not create a database where there is none.
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
    except sqlite3.Error as error:
        return f"cannot be opened ({error})"
    try:
        rows = connection.execute("PRAGMA integrity_check(20)").fetchall()
    except sqlite3.OperationalError as error:
        return f"could not be checked ({error})"
    except sqlite3.DatabaseError as error:  # "file is not a database", "database disk image is malformed"
        return f"is not a readable SQLite database ({error})"
    finally:
        connection.close()
    if rows == [("ok",)]:
        return None
    more = f" and {len(rows) - 1} more problems" if len(rows) > 1 else ""
    return f"is damaged ({rows[0][0]}{more})"


def documents_per_model(records: RecordStore) -> dict[str, int]:
    column = schema.documents.c.embed_model
    with records.engine.connect() as conn:
        return {model: int(n) for model, n in conn.execute(select(column, func.count()).group_by(column))}


# --- vector store ---------------------------------------------------------------------------------
def check_vector_store(settings: Settings, records: RecordStore | None, documents: dict[str, int] | None) -> Check:
    name = "vector store"
    if documents is None:
        return Check(name, SKIPPED, "not checked: the record store cannot be read")
    folder = settings.resolved_home / "chroma"
    where = mask_url(settings.chroma_url) or str(folder)
    total = sum(documents.values())
    if settings.chroma_url is None and not folder.exists():
        if total == 0:
            return Check(name, OK, f"{folder}: not created yet (nothing ingested)")
        return Check(name, PROBLEM, f"{folder} is missing: 0 vectors for {total} documents", REBUILD_FIX)
    request = {
        "path": str(folder),
        "url": settings.chroma_url,
        "records_url": settings.sqlite_url,
        "expected": documents,
        "probes": {model: _probes(records, model) for model, n in documents.items() if n},
    }
    answer = run_probe(request)
    if "crash" in answer:
        return Check(name, PROBLEM, f"vector index damaged: reading {where} crashed the check ({answer['crash']})", REBUILD_FIX)
    if "error" in answer:
        # A server that does not answer is rebuilt into nothing: the fix is where it is set.
        unreachable = settings.chroma_url and "connect" in answer["error"].lower()
        fix = "check UNDERTOW_CHROMA_URL (or chroma_url in config.toml) and that the Chroma server is running" if unreachable else REBUILD_FIX
        return Check(name, PROBLEM, f"{where} cannot be opened ({answer['error']})", fix)
    problems, found = [], []
    for model, expected in documents.items():
        seen = answer["collections"][model]
        if not seen["exists"]:
            if expected:
                problems.append(f"no collection for {model}: 0 vectors for {expected} documents")
            continue
        if seen["count"] != expected:
            problems.append(f"{seen['count']} vectors for {expected} documents of {model}")
        if seen["not_found"]:
            problems.append(f"the index holds no vector, or another one, for {', '.join(seen['not_found'])}")
        found.append(f"{seen['count']} vectors ({model})")
    if problems:
        writer = writer_now(settings.resolved_home) if settings.resolved_home.exists() else None
        if writer:  # vectors are written just before their batch's records: mid-run they differ
            return Check(name, SKIPPED, f"{where}: not compared, {writer} is writing to this home now; run `undertow doctor` when it has finished")
        return Check(name, PROBLEM, f"{where}: " + "; ".join(problems), REBUILD_FIX)
    return Check(name, OK, f"{where}: {', '.join(found) or 'empty'}; counts match the record store, and known documents have their vectors")


def _probes(records: RecordStore, model: str) -> list[tuple[str, list[float]]]:
    """A few stored documents with the vector ingestion gave them, to look up in the index."""
    d = schema.documents.c
    of_model = select(d.id, d.text, d.sentence_spans, d.sentence_vectors).where(d.embed_model == model)
    with records.engine.connect() as conn:
        count = int(conn.execute(select(func.count()).where(d.embed_model == model)).scalar_one())
        offsets = sorted({0, count // 2, max(count - 1, 0)})[:PROBES_PER_MODEL]
        rows = [conn.execute(of_model.order_by(d.id).offset(offset).limit(1)).first() for offset in offsets]
    return [(row.id, stored_document_vector(row._mapping).tolist()) for row in rows if row is not None]


def stored_document_vector(row) -> np.ndarray:
    """The vector ingestion stored for a document, from its stored sentence vectors."""
    from undertow.extractor.sentences import EmbeddedText, document_vector

    return document_vector(EmbeddedText.from_stored(row))


def run_probe(request: dict) -> dict:
    """Open the vector store in a child process; {'collections': ...}, {'error': ...} or {'crash': ...}."""
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    try:
        child = subprocess.run(
            [sys.executable, "-c", PROBE_CODE], input=json.dumps(request), capture_output=True, text=True,
            timeout=PROBE_TIMEOUT_S, env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {PROBE_TIMEOUT_S}s"}
    for line in reversed(child.stdout.splitlines()):
        if line.startswith(PROBE_MARK):
            return json.loads(line[len(PROBE_MARK):])
    if child.returncode < 0:  # killed by a signal: SIGSEGV from the index reader, SIGABRT from a Rust panic
        number = -child.returncode
        return {"crash": signal.Signals(number).name if number in signal.valid_signals() else f"signal {number}"}
    last = [line for line in child.stderr.splitlines() if line.strip()][-1:] or [f"exit code {child.returncode}"]
    return {"error": f"the check failed: {last[0][:200]}"}


def probe_main() -> None:
    """The child's side of run_probe: request as JSON on stdin, answer as one marked line on stdout."""
    request = json.loads(sys.stdin.read())
    try:
        answer = {"collections": probe(request)}
    except Exception as error:  # noqa: BLE001 - whatever Chroma raises is the report
        answer = {"error": _first_line(error)}
    sys.stdout.write(PROBE_MARK + json.dumps(answer) + "\n")
    sys.stdout.flush()


def probe(request: dict) -> dict:
    from undertow.store.vectors import collection_name, cosine_similarities

    client = _chroma_client(Path(request["path"]), request["url"])
    present = {collection.name for collection in client.list_collections()}
    answer = {}
    for model in request["expected"]:
        name = collection_name(model, request.get("records_url") if request["url"] else None)
        if name not in present and collection_name(model) in present:
            name = collection_name(model)  # an older release's shared collection, taken over at the next open
        if name not in present:
            answer[model] = {"exists": False}
            continue
        collection = client.get_collection(name)
        count = collection.count()
        not_found = []
        probes = dict(request["probes"].get(model, [])) if count else {}
        # Read by id, not searched for: the graph a new store builds is never searched (store/vectors.py).
        got = collection.get(ids=list(probes), include=["embeddings"]) if probes else {"ids": [], "embeddings": []}
        stored = dict(zip(got["ids"], got["embeddings"]))
        for doc_id, vector in probes.items():
            held = stored.get(doc_id)
            # float16 storage moves a cosine by about 1e-3; a wrong vector is far further off.
            if held is None or 1.0 - float(cosine_similarities([held], vector)[0]) > 0.02:
                not_found.append(doc_id)
        answer[model] = {"exists": True, "count": count, "not_found": not_found}
    return answer


def _chroma_client(path: Path, url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000, ssl=parsed.scheme == "https", settings=chroma_settings
        )
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


# --- classifier -----------------------------------------------------------------------------------
def check_classifier(settings: Settings) -> Check:
    from undertow.extractor.local import DamagedModel, load_local_model, model_path_for

    name = "classifier"
    path = model_path_for(settings)
    try:
        model = load_local_model(path)
    except DamagedModel as error:
        return Check(name, PROBLEM, f"{error.path} {error.state} ({error.reason})", error.fix)
    except FileNotFoundError as error:
        return Check(name, PROBLEM, str(error).split(":")[0], "reinstall undertow, or run `undertow train`")
    which = "trained for this home" if path == settings.user_model_path else "bundled"
    return Check(name, OK, f"{path}: {which} model {model.version}, {len(model.signals)} signals")


# --- repair ---------------------------------------------------------------------------------------
ProgressCallback = Callable[[int, int], None]  # (documents done, documents in all)


def rebuild_vectors(settings: Settings, on_progress: ProgressCallback | None = None) -> Rebuild:
    """Refill the vector store from the stored sentence vectors, as ingestion would have filled it.

    An embedded index is moved aside to chroma.damaged-<time> first (customer data is never deleted
    without a word); a Chroma server's collections are upserted into, which overwrites every vector.
    """
    from undertow.store.lock import exclusive

    started = time.perf_counter()
    on_progress = on_progress or (lambda *_: None)
    home = settings.resolved_home
    records = RecordStore(settings.sqlite_url)  # a damaged one stops here, with its own one-line error
    with exclusive(home, "doctor --rebuild-vectors", settings.sqlite_url):
        total = sum(documents_per_model(records).values())
        moved = None
        if settings.chroma_url is None:
            moved = _move_aside(home / "chroma")
            _forget_open_chroma_clients()
        stores: dict = {}
        done, batch = 0, []
        on_progress(0, total)
        for row in records.iter_documents(with_vectors=True):
            batch.append(row)
            if len(batch) >= REBUILD_BATCH:
                done += _upsert(batch, stores, settings)
                batch = []
                on_progress(done, total)
        done += _upsert(batch, stores, settings)
        on_progress(done, total)
        if settings.chroma_url is not None:
            _delete_strays(records, stores)
    return Rebuild(documents=done, moved_aside=str(moved) if moved else None, seconds=round(time.perf_counter() - started, 3))


def _delete_strays(records: RecordStore, stores: dict) -> None:
    """On a server nothing is moved aside, so vectors the records do not hold (a run killed between
    its two writes, another store's under an older release) are deleted here, or doctor would
    find them again after every rebuild."""
    kept: dict[str, set[str]] = {}
    for row in records.iter_documents():
        kept.setdefault(row["embed_model"], set()).add(row["id"])
    for model, store in stores.items():
        store.delete(sorted(store.ids() - kept.get(model, set())))


def _upsert(rows: list[dict], stores: dict, settings: Settings) -> int:
    from undertow.store.vectors import VectorStore

    by_model: dict[str, list[dict]] = {}
    for row in rows:
        by_model.setdefault(row["embed_model"], []).append(row)
    for model, model_rows in by_model.items():
        if model not in stores:
            stores[model] = VectorStore(model, path=settings.resolved_home / "chroma", url=settings.chroma_url, records_url=settings.sqlite_url)
        stores[model].upsert(model_rows, np.array([stored_document_vector(row) for row in model_rows]))
    return len(rows)


def _move_aside(folder: Path) -> Path | None:
    if not folder.exists():
        return None
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder.with_name(f"{folder.name}.damaged-{stamp}")
    suffix = 1
    while target.exists():
        suffix += 1
        target = folder.with_name(f"{folder.name}.damaged-{stamp}-{suffix}")
    folder.rename(target)
    return target


def _forget_open_chroma_clients() -> None:
    # Chroma keeps one client per folder path for the life of the process; one opened before the
    # move would keep writing into the moved folder (its open files follow the rename).
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
