"""`undertow bench --scale`: the nightly job and the morning's questions on a large portfolio.

For each backend, SQLite with embedded Chroma and PostgreSQL with a Chroma server, a generated
portfolio (200,000 documents over 5,000 accounts unless told) is ingested with
`undertow ingest --workers N`, every account is scored with `undertow annotate`, and accounts are
asked about, each command in its own process as a user runs it. Reported: documents/s and their
ratio to embedding-only throughput, annotate time, ask p50/p95 once the model is loaded, the peak
memory of each command with its worker processes (and of the Chroma server), and disk per 1,000
documents. On a sample it also compares one process with N workers, ingest with embedding alone
on one core, and one home with two homes ingesting at once into one PostgreSQL and one Chroma
server, each home pinned to its own cores as two machines would be.

Targets (issue 17), for 200,000 documents: ingestion at least 0.80 of embedding-only throughput,
`annotate` for 5,000 accounts under 30 s, `ask` p95 under 1 s, peak memory under 2 GB.

The machine's load average is printed with the figures: on a shared machine they move with it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from undertow.cores import available_cores, usable_cpus
from undertow.eval.scale_portfolio import (
    AS_OF,
    account_id,
    write_documents,
    write_portfolio,
)
from undertow.store.pg_admin import fresh_database

TARGETS = {"ingest_vs_embedding": 0.80, "annotate_s": 30.0, "ask_p95_s": 1.0, "peak_memory_mb": 2048}
QUESTIONS = ["Are they looking at a competitor?", "Who is our main contact now?", "Is the budget under pressure?"]
NIGHT_HOURS = 4  # the window a nightly job gets (02:30 to 06:30) in the sizing figures
BACKENDS = ("sqlite", "postgres")

Step = Callable[[str], None]


def bench_scale(docs: int = 200_000, accounts: int = 5_000, *, backends: tuple[str, ...] = BACKENDS, workers: int | None = None,
                postgres_url: str | None = None, sample_docs: int = 4_000, asks: int = 60, work_dir: Path | None = None,
                on_step: Step = lambda _: None) -> dict[str, dict]:
    workers = workers or available_cores()
    figures: dict[str, dict] = {}
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)  # a folder the user names may not exist yet
    with tempfile.TemporaryDirectory(prefix="undertow-scale-", dir=work_dir) as folder:
        root = Path(folder)
        on_step(f"generating {docs:,} documents over {accounts:,} accounts ...")
        started = time.perf_counter()
        portfolio = write_portfolio(root / "portfolio", docs, accounts)
        sample_accounts = max(1, min(accounts, sample_docs // 40))
        halves = [write_documents(root / f"sample-{half}", sample_docs // 2, sample_accounts, seed=11 + half, id_prefix=f"sample{half}")
                  for half in (0, 1)]  # fmt: skip
        figures["portfolio"] = {"documents": docs, "accounts": accounts, "generate_s": round(time.perf_counter() - started, 1),
                                "cores": available_cores(), "workers": workers, "load_average_at_start": _load()}  # fmt: skip
        texts = portfolio.first_shard_texts(min(sample_docs, docs))
        on_step(f"embedding only, {len(texts)} documents, in one process and in {workers} ...")
        embedding = [embedding_only(texts, workers)]
        for backend in backends:
            if backend == "postgres" and not postgres_url:
                figures[backend] = {"skipped": "no PostgreSQL server: pass --postgres-url (e.g. from `.ci/postgres start`)"}
                continue
            on_step(f"{backend}: ingest, annotate, ask ...")
            with store_for(backend, root / backend, postgres_url) as store:
                figures[backend] = bench_backend(store, portfolio, workers, asks, on_step)
        on_step(f"one process against {workers} workers, {sample_docs} documents ...")
        figures["workers"] = compare_workers(root / "workers", halves, workers)
        on_step(f"one core: ingest against embedding alone, {len(halves[0])} files ...")
        figures["one_core"] = compare_on_one_core(root / "one-core", halves[0])
        if "postgres" in backends and postgres_url:
            on_step(f"one home against two homes sharing PostgreSQL and a Chroma server, {sample_docs} documents ...")
            figures["two_homes"] = compare_homes(root / "homes", halves, postgres_url)
        embedding.append(embedding_only(texts, workers))
    # The machine's speed drifts between runs: the better of two passes (before and after) makes
    # the ratios below conservative rather than lucky.
    figures["embedding_only"] = {key: max(e[key] for e in embedding) for key in embedding[0]}
    _ratios(figures, workers)
    figures["portfolio"]["load_average_at_end"] = _load()
    return figures


def _ratios(figures: dict, workers: int) -> None:
    one, many = figures["embedding_only"]["one_process_docs_per_s"], figures["embedding_only"][f"{workers}_processes_docs_per_s"]
    cores = figures["portfolio"]["cores"]
    for backend in BACKENDS:
        ingest = figures.get(backend, {}).get("ingest")
        if not ingest:
            continue
        rate = ingest["docs_per_s"]
        ingest["vs_embedding_in_one_process"] = round(rate / one, 3)
        ingest[f"vs_embedding_in_{workers}_processes"] = round(rate / many, 3)
        ingest["docs_per_core_per_hour"] = round(rate / cores * 3600)
        ingest[f"docs_per_core_per_{NIGHT_HOURS}h_night"] = round(rate / cores * 3600 * NIGHT_HOURS)


# --- one backend: ingest, annotate, ask -----------------------------------------------------------
@dataclass
class Store:
    backend: str
    env: dict[str, str]
    disk_bytes: Callable[[], int]
    server_peak_mb: Callable[[], float | None] = lambda: None


@contextmanager
def store_for(backend: str, folder: Path, postgres_url: str | None) -> Iterator[Store]:
    home = folder / "home"
    home.mkdir(parents=True)
    if backend == "sqlite":
        yield Store(backend, {"UNDERTOW_HOME": str(home)}, lambda: _size(home, "undertow.db*") + _size(home / "chroma"))
        return
    if backend != "postgres":
        raise ValueError(f"unknown backend {backend!r}: use {' or '.join(BACKENDS)}")
    with fresh_database(postgres_url, prefix="undertow_bench") as database, ChromaServer(folder / "chroma-server") as chroma:
        env = {"UNDERTOW_HOME": str(home), "UNDERTOW_DATABASE_URL": database, "UNDERTOW_CHROMA_URL": chroma.url}
        yield Store(backend, env, lambda: _database_bytes(database) + _size(chroma.path), chroma.peak_mb)


def bench_backend(store: Store, portfolio, workers: int, asks: int, on_step: Step) -> dict:
    ingest = run_command(["ingest", str(portfolio.shards[0].parent), "--workers", str(workers), "--json"], store.env)
    summary = json.loads(ingest.stdout)
    stored = summary["new"]
    on_step(f"  {store.backend}: ingested {stored:,} in {summary['seconds']:.0f}s; annotating {portfolio.accounts:,} accounts ...")
    annotated = run_command(["annotate", str(portfolio.accounts_csv), "--as-of", AS_OF.isoformat(), "--out",
                             str(portfolio.accounts_csv.with_name("annotated.csv"))], store.env)  # fmt: skip
    on_step(f"  {store.backend}: {asks} asks ...")
    asked = run_command(["-m", "undertow.eval.bench_scale", "ask", str(portfolio.accounts), str(asks)], store.env, module=True)
    disk = store.disk_bytes()
    return {
        "ingest": {
            "stored": stored, "run_s": summary["seconds"], "wall_s_with_startup": ingest.wall_s,
            "docs_per_s": round(stored / summary["seconds"], 1), "flagged": summary["flagged"],
            "peak_memory_mb": ingest.peak_mb, "load_average": ingest.load,
        },
        "annotate": {"accounts": portfolio.accounts, "wall_s": annotated.wall_s, "peak_memory_mb": annotated.peak_mb, "load_average": annotated.load},
        "ask": {**json.loads(asked.stdout), "peak_memory_mb": asked.peak_mb, "load_average": asked.load},
        "peak_memory_mb": max(ingest.peak_mb, annotated.peak_mb, asked.peak_mb),
        "chroma_server_peak_mb": store.server_peak_mb(),
        "disk_mb": round(disk / 2**20, 1),
        "disk_mb_per_1000_docs": round(disk / 2**20 / max(stored, 1) * 1000, 2),
    }  # fmt: skip


# --- throughput comparisons on a sample -----------------------------------------------------------
def embedding_only(texts: list[str], workers: int) -> dict[str, float]:
    """Documents/s embedding `texts` and nothing else: in this process as `--workers 1` does (the
    bundled model, 2 threads), and in `workers` processes with the thread budget `--workers` gives."""
    from undertow.extractor.embedding import local_embedder
    from undertow.ingest.parallel import WorkerEmbedding

    one = embedding_rate(texts)
    pool = WorkerEmbedding(workers, local_embedder().name)
    try:
        batches = [texts[i : i + 64] for i in range(0, len(texts), 64)]
        for futures in [pool.submit(batch, [""] * len(batch)) for batch in batches[: 2 * workers]]:
            pool.collect(futures)  # every worker started and its model loaded, as in a long run
        started = time.perf_counter()
        for futures in [pool.submit(batch, [""] * len(batch)) for batch in batches]:
            pool.collect(futures)
        many = len(texts) / (time.perf_counter() - started)
    finally:
        pool.close()
    return {"one_process_docs_per_s": round(one, 1), f"{workers}_processes_docs_per_s": round(many, 1)}


def compare_workers(folder: Path, halves: list[list[Path]], workers: int) -> dict:
    """The same documents into a fresh SQLite home, by one process and by `workers` workers."""
    figures = {}
    for count in sorted({1, workers}):  # one worker is one run (a one-core machine's default)
        home = folder / f"workers-{count}"
        home.mkdir(parents=True)
        ran = run_command(["ingest", *map(str, halves[0] + halves[1]), "--workers", str(count), "--json"], {"UNDERTOW_HOME": str(home)})
        summary = json.loads(ran.stdout)
        figures[f"workers_{count}"] = {"docs_per_s": round(summary["new"] / summary["seconds"], 1), "run_s": summary["seconds"],
                                       "wall_s_with_startup": ran.wall_s, "peak_memory_mb": ran.peak_mb, "load_average": ran.load}  # fmt: skip
    figures[f"workers_{workers}_vs_1"] = round(figures[f"workers_{workers}"]["docs_per_s"] / figures["workers_1"]["docs_per_s"], 3)
    return figures


def embedding_rate(texts: list[str]) -> float:
    """Documents/s embedding `texts` once in this process as `ingest --workers 1` does, the model
    loaded beforehand."""
    from undertow.extractor.embedding import local_embedder
    from undertow.extractor.sentences import embed_texts

    embedder = local_embedder()
    embedder.embed(["warm up"])
    started = time.perf_counter()
    embed_texts(texts, embedder)
    return len(texts) / (time.perf_counter() - started)


# Embedding alone in a process pinned like the ingest it is compared with: seconds to load the
# model, then to embed the first file's texts and the second's, each text once as ingest does.
_PINNED_EMBEDDING_TIMES = """
import json, sys, time
started = time.perf_counter()
from undertow.extractor.embedding import local_embedder
from undertow.extractor.sentences import embed_texts
embedder = local_embedder()
embedder.embed(["warm up"])
times = [time.perf_counter() - started]
for path in sys.argv[1:]:
    texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8") if line.strip()]
    started = time.perf_counter()
    embed_texts(texts, embedder)
    times.append(time.perf_counter() - started)
print(json.dumps(times))
"""
ONE_CORE_FIRST_SHARE = 0.25  # the short run: a quarter of the sample


def startup_and_rate(short: tuple[int, float], long: tuple[int, float]) -> tuple[float, float]:
    """(seconds paid once, documents/s after it) from two runs, each (documents, seconds), of
    one command on a few and on many documents."""
    (n_short, t_short), (n_long, t_long) = short, long
    if n_long <= n_short or t_long <= t_short:
        raise ValueError(f"the longer run ({n_long} documents, {t_long} s) must be longer than the shorter ({n_short}, {t_short} s)")
    rate = (n_long - n_short) / (t_long - t_short)
    return t_short - n_short / rate, rate


def compare_on_one_core(folder: Path, paths: list[Path]) -> dict:
    """Ingest (SQLite, embedded Chroma: everything on the core) against embedding alone, both
    pinned to one core: the per-core cost of everything ingest does beyond embedding, which the
    sizing table multiplies by cores. Where the writer and the workers share every core, the
    ratio to embedding in N processes says more about the machine than about ingest.

    Each side has a start-up (loading the model; ingest also opens the stores and reads its
    imports) paid once a run, and a cost per document. Ingest runs twice in fresh homes, on a
    quarter of the sample and on all of it, so the difference gives its cost per document; the
    embedding process loads the model, then embeds the same quarter and the rest, each text once.
    `ingest_vs_embedding` compares the costs per document; the whole first run against embedding
    the same documents with its model load is reported too."""
    core = usable_cpus()[:1]
    folder.mkdir(parents=True)
    rows = [line for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    cut = max(1, int(len(rows) * ONE_CORE_FIRST_SHARE))
    first, rest, whole = folder / "first.jsonl", folder / "rest.jsonl", folder / "all.jsonl"
    for path, part in ((first, rows[:cut]), (rest, rows[cut:]), (whole, rows)):
        path.write_text("\n".join(part) + "\n", encoding="utf-8")
    runs = {}
    for name, path in (("first", first), ("all", whole)):
        ran = start_command(["ingest", str(path), "--workers", "1", "--json"], {"UNDERTOW_HOME": str(folder / f"home-{name}")}, cpus=core).finish()
        summary = json.loads(ran.stdout)
        runs[name] = (summary["new"], summary["seconds"])
    load_s, first_s, rest_s = json.loads(start_command(["-c", _PINNED_EMBEDDING_TIMES, str(first), str(rest)], {}, module=True, cpus=core).finish().stdout)
    (n_first, t_first), (n_all, t_all) = runs["first"], runs["all"]
    ingest_startup, ingest_rate = startup_and_rate((n_first, t_first), (n_all, t_all))
    embedding_per_document = (len(rows) - cut) / rest_s
    return {
        "cpu": core[0], "documents": len(rows),
        "ingest_docs_per_s": round(ingest_rate, 1), "embedding_only_docs_per_s": round(embedding_per_document, 1),
        "ingest_vs_embedding": round(ingest_rate / embedding_per_document, 3),
        "ingest_startup_s": round(ingest_startup, 2),
        "embedding_model_load_s": round(load_s, 2),
        "whole_runs": {
            "ingest_docs_per_s": round(n_all / t_all, 1),
            "embedding_with_model_load_docs_per_s": round(len(rows) / (load_s + first_s + rest_s), 1),
            "ingest_vs_embedding": round((n_all / t_all) / (len(rows) / (load_s + first_s + rest_s)), 3),
        },
    }  # fmt: skip


def machine_cores(machines: int = 2) -> list[list[int]] | None:
    """This machine's cores split into `machines` equal sets, or None where there are too few."""
    cores = usable_cpus()
    per = len(cores) // machines
    return [cores[n * per : (n + 1) * per] for n in range(machines)] if per else None


def compare_homes(folder: Path, halves: list[list[Path]], postgres_url: str) -> dict:
    """Two machines sharing one PostgreSQL and one Chroma server, played on this one: each home is
    pinned to its own half of the cores, with one worker per core, so a home is a machine of that
    size. One such home ingests the whole sample; then, into a fresh database and Chroma server,
    two ingest a half each at the same time. On all the cores at once, a home that already fills
    every core leaves a second nothing to add, which says nothing about a second machine.
    Documents/s over the wall time from the first start to the last end, start-up included. The
    servers are not pinned: on a team's machines they run elsewhere, here they take their share."""
    machines = machine_cores(2)
    if machines is None:
        return {"skipped": "one core: two homes cannot each have their own"}
    workers = len(machines[0])
    figures: dict = {"cores_per_home": workers, "workers_per_home": workers}
    for homes in (1, 2):
        with fresh_database(postgres_url, prefix="undertow_bench") as database, ChromaServer(folder / f"chroma-{homes}") as chroma:
            parts = [halves[0] + halves[1]] if homes == 1 else halves
            started = time.perf_counter()
            runs = []
            for n, paths in enumerate(parts):
                env = {"UNDERTOW_HOME": str(folder / f"home-{homes}-{n}"), "UNDERTOW_DATABASE_URL": database, "UNDERTOW_CHROMA_URL": chroma.url}
                runs.append(start_command(["ingest", *map(str, paths), "--workers", str(workers), "--json"], env, cpus=machines[n]))
            results = [run.finish() for run in runs]
            wall = time.perf_counter() - started
            stored = sum(json.loads(r.stdout)["new"] for r in results)
            figures[f"{homes}_home{'s' if homes > 1 else ''}"] = {
                "stored": stored, "wall_s": round(wall, 1), "docs_per_s": round(stored / wall, 1),
                "peak_memory_mb": [r.peak_mb for r in results], "load_average": _load(),
            }  # fmt: skip
    figures["two_homes_vs_one"] = round(figures["2_homes"]["docs_per_s"] / figures["1_home"]["docs_per_s"], 3)
    return figures


# --- commands, memory, servers --------------------------------------------------------------------
@dataclass
class Ran:
    stdout: str
    wall_s: float
    peak_mb: float
    load: float


class Running:
    """A command started in its own process, with the resident memory of it and all its
    descendants (worker processes included) sampled until it ends."""

    def __init__(self, args: list[str], env: dict[str, str], module: bool = False, cpus: list[int] | None = None):
        clean = {k: v for k, v in os.environ.items() if k not in ("UNDERTOW_DATABASE_URL", "UNDERTOW_CHROMA_URL", "UNDERTOW_HOME")}
        command = [sys.executable, *args] if module else [sys.executable, "-m", "undertow", *args]
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if cpus:
            # Pinned while Python is still starting, long before it reads its thread budget
            # (undertow.cores.available_cores reads this set) or starts workers, which inherit it.
            os.sched_setaffinity(self.process.pid, cpus)
        self.peak_bytes = 0
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while self.process.poll() is None:
            self.peak_bytes = max(self.peak_bytes, tree_rss_bytes(self.process.pid))
            time.sleep(0.2)

    def finish(self) -> Ran:
        out, err = self.process.communicate()
        wall = time.perf_counter() - self.started
        self._sampler.join()
        if self.process.returncode != 0:
            raise RuntimeError(f"`{' '.join(self.process.args[1:])}` exited {self.process.returncode}: {err.strip()[-800:]}")
        return Ran(out, round(wall, 2), round(self.peak_bytes / 2**20, 1), _load())


def start_command(args: list[str], env: dict[str, str], module: bool = False, cpus: list[int] | None = None) -> Running:
    return Running(args, env, module, cpus)


def run_command(args: list[str], env: dict[str, str], module: bool = False) -> Ran:
    return Running(args, env, module).finish()


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and its descendants, read from /proc (Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name, in brackets, may hold spaces: the fields after it are fixed.
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    return total


class ChromaServer:
    """`chroma run` on loopback with its own data folder, for the length of a benchmark."""

    def __init__(self, path: Path):
        self.path = path
        self.process: subprocess.Popen | None = None
        self._peak_mb: float | None = None

    def __enter__(self) -> "ChromaServer":
        import shutil
        import socket
        import urllib.request

        beside_python = Path(sys.executable).parent / "chroma"
        executable = str(beside_python) if beside_python.exists() else shutil.which("chroma")
        if not executable:
            raise RuntimeError("no `chroma` command: the chromadb package installs it")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([executable, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1)
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.__exit__()
                    raise RuntimeError(f"`chroma run` did not start on port {port}") from None
                time.sleep(0.2)

    def peak_mb(self) -> float | None:
        """The server's peak resident memory so far (the kernel's high-water mark)."""
        if self.process and self.process.poll() is None:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self._peak_mb = round(int(line.split()[1]) / 1024, 1)
        return self._peak_mb

    def __exit__(self, *_exc) -> None:
        if self.process and self.process.poll() is None:
            self.peak_mb()
            self.process.terminate()
            self.process.wait(timeout=30)




def _database_bytes(url: str) -> int:
    from sqlalchemy import create_engine, text
    from undertow.store.records import engine_url

    engine = create_engine(engine_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    finally:
        engine.dispose()


def _size(path: Path, pattern: str | None = None) -> int:
    if pattern:
        return sum(p.stat().st_size for p in path.glob(pattern) if p.is_file())
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _load() -> float:
    return round(os.getloadavg()[0], 2)


# --- in a child process: `ask` latency once the model is loaded ----------------------------------
def ask_latency(accounts: int, asks: int, seed: int = 7) -> dict:
    """Seconds per answer, with a question, for accounts drawn at random; the first answer, which
    loads the model and opens the stores, is reported apart."""
    from undertow.ask.answer import ask
    from undertow.store.home import Home

    from undertow.settings import load_settings

    rng = random.Random(seed)
    home = Home(load_settings())
    started = time.perf_counter()
    ask(home, account_id(0), QUESTIONS[0], as_of=AS_OF, use_llm=False)
    first = time.perf_counter() - started
    seconds = []
    for i in range(asks):
        started = time.perf_counter()
        ask(home, account_id(rng.randrange(accounts)), QUESTIONS[i % len(QUESTIONS)], as_of=AS_OF, use_llm=False)
        seconds.append(time.perf_counter() - started)
    return {
        "asks": asks, "first_s": round(first, 3), "p50_s": round(float(np.percentile(seconds, 50)), 4),
        "p95_s": round(float(np.percentile(seconds, 95)), 4), "max_s": round(max(seconds), 4),
    }  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["ask"]:
        print(json.dumps(ask_latency(int(sys.argv[2]), int(sys.argv[3]))))
    else:
        sys.exit("usage: python -m undertow.eval.bench_scale ask ACCOUNTS ASKS (run `undertow bench --scale` for the benchmark)")
