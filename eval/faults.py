"""The fault suite: what real exports and real nights do to `undertow ingest`, with figures.

Each fault is a function that gets a fresh folder, runs `undertow` as a user or cron does and
returns a FaultOutcome: did the run behave as documented (exit code, one-line message, store
contents), how many documents that should be stored are not (`lost`), and how many stored rows
repeat a document (`duplicated`). tests/test_faults.py asserts on the same outcomes, so the test
and the README's figures come from one piece of code.

Most faults run the CLI in this process (fast, and a write can be patched); the ones where a real
process matters (a crash's exit code, kill -9, a second run beside a first) start a child process.

    python -m undertow.eval.faults [--json]
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest import mock

# The default path must never touch the network, and the fault runs must not reach a server
# the user configured for their own store.
QUIET_ENV = {"ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
FOREIGN_STORES = ("UNDERTOW_CHROMA_URL", "UNDERTOW_DATABASE_URL")

CHAMPION = "Our sponsor Dana told us she is leaving the company at the end of the month and nobody replaces her yet."
WORDS = [
    "The renewal call went well and the team wants the new reporting module.",
    "Procurement asked us for a twenty percent discount before they sign again.",
    CHAMPION,
    "They are piloting a competitor's tool in the Lisbon office this quarter.",
    "Adoption is flat; nobody from finance has logged in since the summer.",
]


@dataclass
class FaultOutcome:
    name: str
    survived: bool
    lost: int
    duplicated: int
    detail: str
    seconds: float = 0.0


class Expectations:
    """What a fault scenario checked; the fault is survived when every expectation held."""

    def __init__(self) -> None:
        self.broken: list[str] = []

    def __call__(self, condition: object, what: str) -> bool:
        if not condition:
            self.broken.append(what)
        return bool(condition)

    def outcome(self, tally: tuple[int, int], detail: str) -> FaultOutcome:
        """The verdict; run_fault names it. `detail` says what was seen when all went well."""
        lost, duplicated = tally
        survived = not self.broken and lost == 0 and duplicated == 0
        return FaultOutcome("", survived, lost, duplicated, detail if not self.broken else "; ".join(self.broken))


Fault = Callable[[Path], FaultOutcome]
FAULTS: dict[str, Fault] = {}


def fault(name: str) -> Callable[[Callable[[Path, Expectations], FaultOutcome]], Fault]:
    """Register a scenario; it receives its folder and the Expectations to fill."""

    def register(scenario: Callable[[Path, Expectations], FaultOutcome]) -> Fault:
        def run(work: Path) -> FaultOutcome:
            return scenario(work, Expectations())

        run.__doc__ = scenario.__doc__
        FAULTS[name] = run
        return run

    return register


def run_fault(name: str, work: Path) -> FaultOutcome:
    """One scenario in `work`; a scenario that crashes is a fault not survived, not a lost run."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        outcome = FAULTS[name](work)
    except Exception as error:  # noqa: BLE001 - the report must go on to the next fault
        outcome = FaultOutcome(name, False, 0, 0, f"the scenario itself failed: {type(error).__name__}: {error}")
    outcome.name = name
    outcome.detail = outcome.detail.replace(str(work), "WORK")  # the scratch folder says nothing
    outcome.seconds = round(time.perf_counter() - started, 1)
    return outcome


# --- running the CLI ------------------------------------------------------------------------------
@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def summary(self) -> dict:
        """The `--json` summary: the last line on stdout."""
        lines = self.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}

    @property
    def errors(self) -> list[str]:
        """The lines that say what went wrong (progress and summary lines around them are not)."""
        return [line for line in self.lines if line.startswith(("error:", "internal error:"))]

    @property
    def first_error(self) -> str:
        return self.errors[0] if self.errors else ""

    def one_line(self) -> bool:
        """What cron mails for an error: it is said in one line, and no traceback anywhere."""
        return len(self.errors) == 1 and "Traceback" not in self.stderr + self.stdout

    def warning(self) -> str:
        return next((line for line in self.lines if line.startswith("warning")), "")


def environment(values: dict[str, str | None]):
    """The variables set (None: unset) for the block, as the user's shell would have them, and
    the process's own environment back afterwards."""
    merged = {name: value for name, value in {**os.environ, **values}.items() if value is not None}
    return mock.patch.dict(os.environ, merged, clear=True)


def cli_env(work: Path, env: dict[str, str] | None) -> dict[str, str | None]:
    return {**QUIET_ENV, **dict.fromkeys(FOREIGN_STORES), "UNDERTOW_HOME": str(work / "home"), **(env or {})}


def undertow(work: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """`undertow ARGS` in this process, as the console script runs it (main(), not the Typer app)."""
    from undertow.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    umask = os.umask(0o077)  # main() sets this mask for good; the caller's comes back below
    code = 0
    try:
        with (
            environment(cli_env(work, env)),
            mock.patch.object(sys, "argv", ["undertow", *args]),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                main()
            except SystemExit as ended:
                code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
    finally:
        os.umask(umask)
    return Ran(code, out.getvalue(), err.getvalue(), time.perf_counter() - started)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "undertow", *args]


def child_env(work: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    merged = {**os.environ, **cli_env(work, env)}
    return {name: value for name, value in merged.items() if value is not None}


def undertow_child(work: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Ran:
    """`undertow ARGS` as a child process: its exit code is the one cron sees, a crash included."""
    started = time.perf_counter()
    done = subprocess.run(command(*args), check=False, env=child_env(work, env), capture_output=True, text=True, timeout=timeout)
    return Ran(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


# --- reading the store -----------------------------------------------------------------------------
@contextlib.contextmanager
def records(work: Path):
    from undertow.store.records import RecordStore

    store = RecordStore(f"sqlite:///{work / 'home' / 'undertow.db'}")
    try:
        yield store
    finally:
        store.engine.dispose()


def stored(work: Path) -> list[dict]:
    if not (work / "home" / "undertow.db").exists():
        return []
    with records(work) as store:
        return list(store.iter_documents())


def stored_count(work: Path) -> int:
    """Documents stored so far, read beside a running ingest (WAL lets a reader in)."""
    try:
        with sqlite3.connect(work / "home" / "undertow.db", timeout=1) as conn:
            return conn.execute("select count(*) from documents").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or its tables not yet
        return 0


def run_statuses(work: Path) -> list[str]:
    with records(work) as store:
        return [run["status"] for run in reversed(store.last_runs(100))]


def vector_count(work: Path) -> int:
    from undertow.extractor.embedding import get_embedder
    from undertow.store.vectors import VectorStore

    return VectorStore(get_embedder("local").name, path=work / "home" / "chroma").count()


def tally(rows: list[dict], ids: list[str] = (), texts: list[str] = ()) -> tuple[int, int]:
    """(lost, duplicated): expected documents (by id or by text) not stored, and stored rows that
    repeat another's account and words."""
    have_ids, have_texts = {row["id"] for row in rows}, {row["text"] for row in rows}
    lost = sum(i not in have_ids for i in ids) + sum(t not in have_texts for t in texts)
    distinct = {(row["account_id"], " ".join(row["text"].split())) for row in rows}
    return lost, len(rows) - len(distinct)


# --- building inputs -------------------------------------------------------------------------------
def doc(i: int, text: str | None = None, account: str = "acme") -> dict:
    return {
        "id": f"d-{i:04d}",
        "account_id": account,
        "source": "call_note",
        "date": f"2026-03-{1 + i % 28:02d}",
        "text": text or f"Call {i}: we reviewed usage of report {i} and agreed next steps.",
    }


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in its text layer (Helvetica), with a correct xref table."""
    content = b"BT /F1 12 Tf 72 712 Td (" + text.encode("latin-1") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# --- what real exports contain -----------------------------------------------------------------------
@fault("rolling CSV exports, no id column, 10 nights")
def rolling_exports(work: Path, expect: Expectations) -> FaultOutcome:
    """Day 1 holds rows A,B,C, day 2 B,C,D...: each row stored once, none overwritten, flags kept."""
    import datetime as dt

    def ticket(offset: int) -> tuple[dt.date, str]:
        day = dt.date(2026, 9, 1) + dt.timedelta(days=offset)
        return day, f"{WORDS[offset % len(WORDS)]} Logged on {day:%d %B}."

    export, flags = work / "tickets.csv", set()
    for night in range(10):
        rows = [ticket(offset) for offset in range(max(0, night - 2), night + 1)]
        export.write_text("Organization,Created at,Description\n" + "".join(f'Acme Logistics,{d},"{t}"\n' for d, t in rows), encoding="utf-8")
        ran = undertow(work, "ingest", str(export), "--json")
        got = ran.summary
        expect(ran.code == 0, f"night {night}: exit {ran.code}")
        expect((got.get("new"), got.get("updated")) == (len(rows) if night == 0 else 1, 0), f"night {night}: {got}")
        with records(work) as store:
            now = {(f["doc_id"], f["signal"]) for f in store.flags()}
        expect(flags <= now, f"night {night} dropped flags of documents that left the export")
        flags = now
    rows = stored(work)
    expect(flags, "the planted signals raised no flag, so keeping flags proved nothing")
    expect(vector_count(work) == len(rows), "vectors and documents differ")
    return expect.outcome(tally(rows, texts=[ticket(n)[1] for n in range(10)]), f"{len(rows)} documents for 10 nights of 3-row exports, {len(flags)} flags kept")


@fault("overlapping folders")
def overlapping_folders(work: Path, expect: Expectations) -> FaultOutcome:
    """`ingest notes`, then `notes/sub`, then `notes` again: each note once."""
    notes = work / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "top.md").write_text("---\naccount_id: acme\ndate: 2026-05-04\n---\nQBR went fine, usage up.\n", encoding="utf-8")
    (notes / "sub" / "deep.md").write_text("---\naccount_id: acme\ndate: 2026-05-05\n---\nThe budget is frozen until Q3.\n", encoding="utf-8")
    news = []
    for target in (notes, notes / "sub", notes):
        ran = undertow(work, "ingest", str(target), "--json")
        expect(ran.code == 0, f"ingest {target.name}: exit {ran.code}")
        news.append(ran.summary.get("new"))
    expect(news == [2, 0, 0], f"new documents per run {news}, expected [2, 0, 0]")
    rows = stored(work)
    return expect.outcome(tally(rows, texts=["QBR went fine, usage up.", "The budget is frozen until Q3."]), f"new per run {news}")


@fault("same CSV re-mapped with --map")
def remapped_columns(work: Path, expect: Expectations) -> FaultOutcome:
    """The same export read with other column mappings: the same words are not stored twice."""
    export = work / "crm.csv"
    export.write_text(
        "Ref,Company,Date,Body,Summary\n17,acme,2026-06-01,Call about the roadmap.,Roadmap\n"
        "18,acme,2026-06-02,They asked for a cheaper plan.,Pricing\n",
        encoding="utf-8",
    )
    first = undertow(work, "ingest", str(export), "--map", "text=Body", "--json")
    second = undertow(work, "ingest", str(export), "--map", "text=Body", "--map", "id=Ref", "--map", "subject=Summary", "--json")
    expect((first.code, second.code) == (0, 0), f"exits {first.code}, {second.code}")
    expect(first.summary.get("new") == 2, f"first mapping: {first.summary}")
    expect((second.summary.get("new"), second.summary.get("duplicates")) == (0, 2), f"second mapping: {second.summary}")
    rows = stored(work)
    return expect.outcome(tally(rows, texts=["Call about the roadmap.", "They asked for a cheaper plan."]), "second mapping: 0 new, 2 duplicates")


@fault("CSV cell over 131,072 characters")
def huge_csv_cell(work: Path, expect: Expectations) -> FaultOutcome:
    """Over the csv module's default field limit: stored, cut at a sentence end with a warning."""
    huge = "The log says timeout. " * 8000  # 176,000 characters
    export = work / "tickets.csv"
    export.write_text(f'Ticket ID,Organization,Created at,Description\n1,acme,2026-03-02,"{huge}"\n2,acme,2026-03-03,Short one.\n', encoding="utf-8")
    ran = undertow(work, "ingest", str(export), "--json")
    expect(ran.code == 0, f"exit {ran.code}: {ran.stderr.strip()[:200]}")
    expect("cut to the limit" in ran.stderr and ran.summary.get("warnings") == 1, "no warning that the text was cut")
    rows = {row["id"]: row for row in stored(work)}
    big = rows.get("1", {}).get("text", "")
    expect(50_000 < len(big) <= 100_000 and big.endswith("timeout."), f"the long cell was stored as {len(big):,} characters")
    return expect.outcome(tally(list(rows.values()), ids=["1", "2"]), f"cell of {len(huge):,} characters stored as {len(big):,}, with a warning")


@fault("20 MB JSONL line")
def huge_jsonl_line(work: Path, expect: Expectations) -> FaultOutcome:
    """One 20 MB line between normal ones: all stored, the big one cut, in bounded time."""
    big = doc(1, "Budget cuts everywhere. " * 875_000)
    path = write_jsonl(work / "big.jsonl", [doc(0), big, doc(2)])
    ran = undertow(work, "ingest", str(path), "--json")
    expect(ran.code == 0, f"exit {ran.code}: {ran.stderr.strip()[:200]}")
    expect(ran.seconds < 60, f"took {ran.seconds:.0f}s")
    rows = {row["id"]: row for row in stored(work)}
    cut = len(rows.get("d-0001", {}).get("text", ""))
    expect(0 < cut <= 100_000 and "cut to the limit" in ran.stderr, f"the 20 MB text was stored as {cut:,} characters")
    return expect.outcome(tally(list(rows.values()), ids=["d-0000", "d-0001", "d-0002"]),
                          f"{path.stat().st_size / 1e6:.0f} MB line cut to {cut:,} characters in {ran.seconds:.1f}s")


# --- damaged files Undertow wrote --------------------------------------------------------------------
@fault("truncated model file")
def truncated_model(work: Path, expect: Expectations) -> FaultOutcome:
    """A half-written user model: exit 2, one line naming the file, stored documents intact."""
    from undertow.extractor.local import bundled_model_path

    undertow(work, "ingest", str(write_jsonl(work / "a.jsonl", [doc(1)])))
    before = stored(work)
    model = work / "home" / "models" / "local.npz"  # user_model_path() for this home
    model.parent.mkdir(parents=True, exist_ok=True)
    whole = bundled_model_path().read_bytes()
    model.write_bytes(whole[: len(whole) // 2])
    ran = undertow_child(work, "ingest", str(write_jsonl(work / "b.jsonl", [doc(2)])))
    expect(ran.code == 2, f"exit {ran.code}")
    expect(ran.one_line() and str(model) in ran.stderr and "damaged" in ran.stderr, f"message: {ran.stderr.strip()[:300]}")
    after = stored(work)
    expect(before == after, "the documents stored before changed")
    return expect.outcome(tally(after, ids=["d-0001"]), ran.first_error[:120])


@fault("home path is a file")
def home_is_a_file(work: Path, expect: Expectations) -> FaultOutcome:
    """UNDERTOW_HOME names a file: exit 2, one line, the file untouched."""
    home = work / "home"
    home.write_text("not a folder")
    ran = undertow_child(work, "ingest", str(write_jsonl(work / "a.jsonl", [doc(1)])))
    expect(ran.code == 2, f"exit {ran.code}")
    expect(ran.one_line() and "is a file" in ran.stderr, f"message: {ran.stderr.strip()[:300]}")
    expect(home.read_text() == "not a folder", "the file was changed")
    return expect.outcome((0, 0), ran.first_error[:120])


@fault("corrupt record database")
def corrupt_database(work: Path, expect: Expectations) -> FaultOutcome:
    """Garbage in HOME/undertow.db: exit 2, one line naming `undertow doctor`, the file untouched."""
    garbage = b"this is not a database " * 200
    (work / "home").mkdir()
    (work / "home" / "undertow.db").write_bytes(garbage)
    ran = undertow_child(work, "ingest", str(write_jsonl(work / "a.jsonl", [doc(1)])))
    expect(ran.code == 2, f"exit {ran.code}")
    expect(ran.one_line() and "undertow doctor" in ran.stderr, f"message: {ran.stderr.strip()[:300]}")
    expect((work / "home" / "undertow.db").read_bytes() == garbage, "the damaged file was overwritten: nothing left to recover")
    return expect.outcome((0, 0), ran.first_error[:120])


@fault("corrupted vector index")
def corrupt_vectors(work: Path, expect: Expectations) -> FaultOutcome:
    """Garbage over every file of HOME/chroma: the next ingest and doctor name it without a crash,
    --rebuild-vectors restores it from the records, and the night after stores what was refused."""
    # Child processes until the rebuild: this process must not hold the damaged index open.
    undertow_child(work, "ingest", str(write_jsonl(work / "a.jsonl", [doc(i, t) for i, t in enumerate(WORDS[:4])])))
    before = stored(work)
    damaged = [p for p in (work / "home" / "chroma").rglob("*") if p.is_file()]
    for path in damaged:
        path.write_bytes(b"garbled " * 1000)
    tonight = write_jsonl(work / "b.jsonl", [doc(i) for i in range(4, 7)])
    refused = undertow_child(work, "ingest", str(tonight))
    expect(refused.code == 2 and refused.one_line() and "undertow doctor" in refused.stderr,
           f"ingest on the damaged index: exit {refused.code}, {(refused.first_error or refused.stderr.strip())[:200]}")
    found = undertow_child(work, "doctor", "--json")
    vectors = next((c for c in (found.summary.get("checks") or []) if c["name"] == "vector store"), {})
    expect(found.code == 2 and vectors.get("status") == "problem", f"doctor exit {found.code} (negative: a signal), vector check {vectors}")
    fixed = undertow_child(work, "doctor", "--rebuild-vectors", "--json")
    expect(fixed.code == 0 and fixed.summary.get("ok"), f"rebuild exit {fixed.code}: {fixed.stdout.strip()[:300]}")
    expect((fixed.summary.get("rebuilt") or {}).get("documents") == len(before), f"rebuilt {fixed.summary.get('rebuilt')}")
    expect([r for r in stored(work) if r["id"] in {b["id"] for b in before}] == before, "the records changed")
    again = undertow(work, "ingest", str(tonight), "--json")
    rows = stored(work)
    expect(again.code == 0 and again.summary.get("new") == 3, f"the next night: exit {again.code}, {again.summary}")
    expect(vector_count(work) == len(rows), f"{vector_count(work)} vectors for {len(rows)} documents after the rebuild")
    return expect.outcome(tally(rows, ids=[f"d-{i:04d}" for i in range(7)]),
                          f"{len(damaged)} files garbled; doctor: {vectors.get('detail', '')[-50:]}; rebuilt {len(before)} vectors, next night ok")


# --- encodings, invisible characters, binaries -----------------------------------------------------
@fault("cp1252 (Latin-1) note")
def cp1252_note(work: Path, expect: Expectations) -> FaultOutcome:
    """Not UTF-8: stored with the right accents, the guess named in a warning, no U+FFFD."""
    text = "Réunion à Zürich: le budget est gelé jusqu'à l'année prochaine, décision du directeur financier."
    (work / "visit.txt").write_bytes(text.encode("cp1252"))
    ran = undertow(work, "ingest", str(work / "visit.txt"), "--account", "acme", "--json")
    rows = stored(work)
    expect(ran.code == 0, f"exit {ran.code}")
    expect(ran.summary.get("warnings") == 1 and "warning" in ran.stderr, "the encoding guess was not named")
    expect(rows and "\ufffd" not in rows[0]["text"], "U+FFFD in the stored text")
    return expect.outcome(tally(rows, texts=[text]), ran.warning().split(": ", 1)[-1])


@fault("zero-width and NUL inside a signal")
def hidden_characters(work: Path, expect: Expectations) -> FaultOutcome:
    """Invisible characters split the words of a champion departure: still flagged."""
    hidden = CHAMPION.replace("Dana", "Da\u200bna").replace("leaving", "lea\x00ving").replace("company", "com\u2060pany")
    ran = undertow(work, "ingest", str(write_jsonl(work / "chat.jsonl", [doc(1, hidden)])), "--json")
    rows = stored(work)
    with records(work) as store:
        signals = {f["signal"] for f in store.flags()}
    expect(ran.code == 0, f"exit {ran.code}")
    expect(rows and rows[0]["original_text"] == hidden, "the original text was not kept")
    expect("champion_departure" in signals, f"flags {sorted(signals)}")
    return expect.outcome(tally(rows, texts=[CHAMPION]), "cleaned text equals the plain sentence; champion_departure flagged")


@fault("invisible-only, empty, random, ELF files")
def unreadable_files(work: Path, expect: Expectations) -> FaultOutcome:
    """Each rejected with a reason and exit 1; the good file beside them is stored."""
    bad = {
        "blank.md": ("\u200b\u200b \u2060\n\ufeff".encode("utf-8"), "no readable"),
        "empty.txt": (b"", "empty file"),
        "noise.md": (random.Random(12).randbytes(4096), "binary"),
        "tool.txt": (b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8, "binary"),
    }
    for name, (data, _) in bad.items():
        (work / name).write_bytes(data)
    (work / "good.txt").write_text(WORDS[0], encoding="utf-8")
    paths = [str(work / name) for name in [*bad, "good.txt"]]
    ran = undertow(work, "ingest", *paths, "--account", "acme", "--json")
    failures = ran.summary.get("failures", [])
    expect(ran.code == 1, f"exit {ran.code}")
    for name, (_, reason) in bad.items():
        expect(any(name in f and reason in f for f in failures), f"{name} not rejected with '{reason}': {failures}")
    quarantined = list((work / "home" / "quarantine").glob("*.jsonl"))
    expect(quarantined and len(quarantined[0].read_text().splitlines()) == len(bad), "not quarantined")
    return expect.outcome(tally(stored(work), texts=[WORDS[0]]), f"{len(failures)} rejected with reasons, the good file stored")


@fault(".pdf and .docx notes")
def office_files(work: Path, expect: Expectations) -> FaultOutcome:
    """Text layers of a PDF and a Word file are read and stored."""
    import docx

    folder = work / "inbox"
    folder.mkdir()
    (folder / "call.pdf").write_bytes(minimal_pdf(WORDS[1]))
    word = docx.Document()
    word.add_paragraph(CHAMPION)
    word.save(str(folder / "call.docx"))
    ran = undertow(work, "ingest", str(folder), "--account", "acme", "--json")
    expect(ran.code == 0 and ran.summary.get("new") == 2, f"exit {ran.code}: {ran.summary}")
    return expect.outcome(tally(stored(work), texts=[WORDS[1], CHAMPION]), "both text layers stored")


@fault("semicolon-separated CSV")
def semicolon_csv(work: Path, expect: Expectations) -> FaultOutcome:
    """European Excel's delimiter, with commas inside the text."""
    texts = ["Export is slow, again, since Monday.", "They want SSO, audit logs and a cheaper plan."]
    export = work / "tickets.csv"
    export.write_text("Ticket ID;Organization;Created at;Description\n" + "".join(f"{i};acme;2026-03-0{i};{t}\n" for i, t in enumerate(texts, 1)), encoding="utf-8")
    ran = undertow(work, "ingest", str(export), "--json")
    expect(ran.code == 0 and ran.summary.get("new") == 2, f"exit {ran.code}: {ran.summary}")
    return expect.outcome(tally(stored(work), texts=texts), "2 rows, commas kept inside the text")


@fault("ambiguous date 03/11/2026")
def ambiguous_date(work: Path, expect: Expectations) -> FaultOutcome:
    """Read day first with a warning; --monthfirst reads March and replaces the same document."""
    export = work / "us.csv"
    export.write_text("Ticket ID,Organization,Created at,Description\n9,acme,03/11/2026,Export is slow again.\n", encoding="utf-8")
    first = undertow(work, "ingest", str(export), "--json")
    november = stored(work)[0]["date"].month
    second = undertow(work, "ingest", str(export), "--monthfirst", "--json")
    rows = stored(work)
    expect((first.code, second.code) == (0, 0), f"exits {first.code}, {second.code}")
    expect(first.summary.get("warnings") == 1 and "could be day or month first" in first.stderr, "no warning about the date")
    expect((november, rows[0]["date"].month) == (11, 3), f"months read {november}, {rows[0]['date'].month}")
    expect(second.summary.get("updated") == 1, f"--monthfirst run: {second.summary}")
    return expect.outcome(tally(rows, ids=["9"]), "day first with a warning (November); --monthfirst: March, same document")


@fault("unterminated CSV quote")
def unterminated_quote(work: Path, expect: Expectations) -> FaultOutcome:
    """The broken row is reported with its line; the rows before it are stored."""
    export = work / "export.csv"
    export.write_text(
        "Ticket ID,Organization,Created at,Description\n1,acme,2026-03-02,First row is fine.\n"
        "2,acme,2026-03-03,Second row is fine.\n3,acme,2026-03-04,\"An unterminated quote starts here\n"
        "4,acme,2026-03-05,Swallowed by the open quote.\n",
        encoding="utf-8",
    )
    ran = undertow(work, "ingest", str(export), "--json")
    failures = ran.summary.get("failures", [])
    expect(ran.code == 1, f"exit {ran.code}")
    expect(len(failures) == 1 and f"{export}:4:" in failures[0] and "unterminated quote" in failures[0], f"failures {failures}")
    return expect.outcome(tally(stored(work), ids=["1", "2"]), "line 4 reported; the row it swallowed is named in the reason")


# --- the night itself: kill -9, a full disk, a locked database, a second run ------------------------
@fault("kill -9 at 3 random points")
def killed_runs(work: Path, expect: Expectations) -> FaultOutcome:
    """SIGKILL three runs at random moments, then let one finish: every document once."""
    total, rng = 60, random.Random(17)
    path = write_jsonl(work / "many.jsonl", [doc(i) for i in range(total)])
    env = child_env(work, {"UNDERTOW_INGEST_BATCH": "8"})
    after_kill = []
    for _ in range(3):
        # A moment at random: once a random share of what is left is stored, plus up to a batch's
        # time (a batch of 8 takes about 0.1 s), so the kill lands in embedding, upsert or commit.
        done = stored_count(work)
        target = done + rng.randint(1, max(1, (total - done) // 2))
        process = subprocess.Popen(command("ingest", str(path)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while stored_count(work) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.1))
        process.send_signal(signal.SIGKILL)
        process.wait()
        after_kill.append(stored_count(work))
    final = undertow_child(work, "ingest", str(path), "--json", env={"UNDERTOW_INGEST_BATCH": "8"})
    rows = stored(work)
    expect(final.code == 0, f"final run exit {final.code}: {final.stderr.strip()[-300:]}")
    expect(any(0 < n < total for n in after_kill), f"no kill landed mid-run (stored after kills {after_kill})")
    got = final.summary
    expect(got.get("new", 0) + got.get("skipped", 0) == total and got.get("duplicates") == 0, f"final run {got}")
    expect(vector_count(work) == len(rows), f"{vector_count(work)} vectors for {len(rows)} documents")
    statuses = run_statuses(work)
    # A run that finished before its kill landed (a loaded machine) is rightly "ok"; none may be
    # left "running" or "failed".
    expect(statuses and set(statuses) <= {"interrupted", "ok"} and "interrupted" in statuses and statuses[-1] == "ok",
           f"runs recorded as {statuses}")
    return expect.outcome(tally(rows, ids=[f"d-{i:04d}" for i in range(total)]),
                          f"{total} docs; stored after each kill {after_kill}; vectors = documents; runs {statuses}")


@fault("disk full during a batch")
def disk_full(work: Path, expect: Expectations) -> FaultOutcome:
    """ENOSPC on the second batch's write: exit 3 and one line; the next run stores the rest once."""
    from undertow.store.records import RecordStore

    total, env = 20, {"UNDERTOW_INGEST_BATCH": "8"}
    path = write_jsonl(work / "a.jsonl", [doc(i) for i in range(total)])
    original, calls = RecordStore.save_documents, []

    def full_on_second_write(self, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, batch)

    with mock.patch.object(RecordStore, "save_documents", full_on_second_write):
        crashed = undertow(work, "ingest", str(path), env=env)
    log = work / "home" / "logs" / "errors.log"
    expect(crashed.code == 3, f"exit {crashed.code}")
    expect(crashed.one_line() and "No space left on device" in crashed.stderr and str(log) in crashed.stderr, f"message: {crashed.stderr.strip()[:300]}")
    expect(log.exists() and "Traceback" in log.read_text(), "no traceback in the log")
    first_batch = len(stored(work))
    expect(run_statuses(work) == ["failed"], f"the crashed run is recorded as {run_statuses(work)}")
    expect(first_batch == 8, f"{first_batch} documents stored before the disk filled, expected the first batch (8)")
    resumed = undertow(work, "ingest", str(path), "--json", env=env)
    rows = stored(work)
    expect(resumed.code == 0 and resumed.summary.get("new") == total - first_batch, f"resumed exit {resumed.code}: {resumed.summary}")
    expect(vector_count(work) == len(rows), "vectors and documents differ")
    return expect.outcome(tally(rows, ids=[f"d-{i:04d}" for i in range(total)]),
                          f"exit 3 after batch 1 ({first_batch} stored); the next run stored {resumed.summary.get('new')}")


@fault("locked database")
def locked_database(work: Path, expect: Expectations) -> FaultOutcome:
    """Another connection holds an exclusive lock for 2 s: ingest waits, then stores everything."""
    hold = 2.0
    undertow(work, "ingest", str(write_jsonl(work / "a.jsonl", [doc(i) for i in range(3)])))
    locked, released = threading.Event(), []

    def hold_lock() -> None:
        conn = sqlite3.connect(work / "home" / "undertow.db", isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(hold)
        conn.execute("COMMIT")
        released.append(time.perf_counter())
        conn.close()

    locker = threading.Thread(target=hold_lock)
    locker.start()
    locked.wait(10)
    ran = undertow(work, "ingest", str(write_jsonl(work / "b.jsonl", [doc(i) for i in range(3, 8)])), "--json")
    finished = time.perf_counter()
    locker.join()
    expect(ran.code == 0 and ran.summary.get("new") == 5, f"exit {ran.code}: {ran.stderr.strip()[:300]}")
    expect(released and finished >= released[0], "the run ended before the lock was released: it did not wait")
    return expect.outcome(tally(stored(work), ids=[f"d-{i:04d}" for i in range(8)]), f"waited for the {hold:.0f} s lock, took {ran.seconds:.1f}s")


@fault("second ingest while one runs")
def second_run(work: Path, expect: Expectations) -> FaultOutcome:
    """Refused with exit 2 and one line; the first completes; the refused input goes in next time."""
    total = 150
    path = write_jsonl(work / "many.jsonl", [doc(i) for i in range(total)])
    first = subprocess.Popen(command("ingest", str(path)), env=child_env(work), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    owner, deadline = work / "home" / "undertow.lock.owner", time.monotonic() + 120
    while first.poll() is None and time.monotonic() < deadline:
        if owner.exists() and f"pid {first.pid}" in owner.read_text():
            break
        time.sleep(0.01)
    other = write_jsonl(work / "other.jsonl", [doc(900)])
    refused = undertow(work, "ingest", str(other))
    first_err = first.communicate(timeout=300)[1]
    expect(refused.code == 2, f"second run exit {refused.code} (the first was {'running' if first.returncode is None else 'already done'})")
    expect(refused.one_line() and "busy" in refused.stderr, f"message: {refused.stderr.strip()[:300]}")
    expect(first.returncode == 0, f"first run exit {first.returncode}: {first_err.strip()[-300:]}")
    later = undertow(work, "ingest", str(other))
    expect(later.code == 0, f"the refused input, run again: exit {later.code}")
    return expect.outcome(tally(stored(work), ids=[f"d-{i:04d}" for i in [*range(total), 900]]),
                          refused.first_error[:110])


# --- the report --------------------------------------------------------------------------------------
def run_all(names: list[str] | None = None) -> list[FaultOutcome]:
    with tempfile.TemporaryDirectory(prefix="undertow-faults-") as scratch:
        return [run_fault(name, Path(scratch) / f"fault-{n:02d}") for n, name in enumerate(names or FAULTS)]


def summary_line(outcomes: list[FaultOutcome]) -> str:
    survived = sum(o.survived for o in outcomes)
    return (f"{len(outcomes)} faults injected, {survived} survived, documents lost {sum(o.lost for o in outcomes)}, "
            f"duplicated {sum(o.duplicated for o in outcomes)}")


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    outcomes = run_all()
    seconds = round(time.perf_counter() - started, 1)
    if "--json" in argv:
        print(json.dumps({"summary": summary_line(outcomes), "seconds": seconds, "faults": [asdict(o) for o in outcomes]}, ensure_ascii=False))
    else:
        width = max(len(o.name) for o in outcomes)
        print(f"{'fault':<{width}}  survived  lost  dup      s  detail")
        for o in outcomes:
            print(f"{o.name:<{width}}  {'yes' if o.survived else 'NO':<8}  {o.lost:>4}  {o.duplicated:>3}  {o.seconds:>5.1f}  {o.detail}")
        print(f"{summary_line(outcomes)} ({seconds:.0f}s)")
    return 0 if all(o.survived for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
