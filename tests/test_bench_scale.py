"""The scale benchmark's own parts: a portfolio written as it is generated, and memory measured
across a command's worker processes. (Its figures are printed by `undertow bench --scale`, never
asserted here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from undertow.eval import scale_portfolio
from undertow.eval.bench_scale import tree_rss_bytes


def test_the_portfolio_is_written_in_shards_and_every_account_has_documents(tmp_path, monkeypatch):
    from undertow.health.accounts import read_accounts

    monkeypatch.setattr(scale_portfolio, "SHARD_DOCS", 10)
    portfolio = scale_portfolio.write_portfolio(tmp_path, 25, 5)
    lines = [shard.read_text(encoding="utf-8").splitlines() for shard in portfolio.shards]
    assert [len(shard) for shard in lines] == [10, 10, 5]
    docs = [json.loads(line) for shard in lines for line in shard]
    assert len({d["id"] for d in docs}) == 25
    assert {d["account_id"] for d in docs} == {scale_portfolio.account_id(n) for n in range(5)}
    assert all(20 <= len(d["text"].split()) for d in docs)
    table = read_accounts(portfolio.accounts_csv)
    assert len(table.rows) == 5 and not table.problems and not table.missing


def test_the_same_seed_writes_the_same_portfolio(tmp_path):
    first = scale_portfolio.write_portfolio(tmp_path / "a", 12, 3)
    second = scale_portfolio.write_portfolio(tmp_path / "b", 12, 3)
    assert first.shards[0].read_text() == second.shards[0].read_text()
    assert first.accounts_csv.read_text() == second.accounts_csv.read_text()


def test_memory_is_counted_across_a_process_and_its_children():
    allocate = "import sys, time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); print('ok', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", allocate], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ok"
        own = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        assert tree_rss_bytes(child.pid) >= 300 * 2**20
        assert tree_rss_bytes(os.getpid()) >= own + 300 * 2**20, "the child's memory belongs to the command's"
    finally:
        child.kill()
        child.wait(timeout=10)


def test_an_unknown_backend_is_refused_before_anything_runs(tmp_path):
    from undertow.errors import InputError
    from undertow.services.bench import bench_scale

    with pytest.raises(InputError, match="--backends: unknown mysql"):
        bench_scale(100, 10, backends=["sqlite", "mysql"], work_dir=tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs two cores to pin to one")
def test_a_home_played_as_a_machine_sees_only_its_own_cores():
    from undertow.eval.bench_scale import machine_cores, start_command

    machines = machine_cores(2)
    assert len(machines) == 2 and not set(machines[0]) & set(machines[1]) and len(machines[0]) == len(machines[1])
    code = "import os; from undertow.cores import available_cores; print(sorted(os.sched_getaffinity(0)), available_cores())"
    ran = start_command(["-c", code], {}, module=True, cpus=machines[1]).finish()
    assert ran.stdout.split("]")[0] + "]" == str(machines[1]) and int(ran.stdout.split()[-1]) == len(machines[1])


def test_a_start_up_and_a_rate_are_told_apart_from_two_runs():
    from undertow.eval.bench_scale import startup_and_rate

    # 2.5 s of start-up, then 100 documents/s: 500 documents take 7.5 s, 2,000 take 22.5 s
    startup, rate = startup_and_rate((500, 7.5), (2000, 22.5))
    assert startup == pytest.approx(2.5) and rate == pytest.approx(100.0)
    with pytest.raises(ValueError, match="longer"):
        startup_and_rate((500, 7.5), (2000, 7.0))


def test_one_worker_is_compared_with_itself_in_one_run(tmp_path, monkeypatch):
    """A one-core machine's default: the comparison must not make the same home twice."""
    from undertow.eval import bench_scale

    runs = []

    def fake_run(args, env, module=False):
        runs.append(env["UNDERTOW_HOME"])
        return bench_scale.Ran(stdout=json.dumps({"new": 10, "seconds": 2.0}), wall_s=2.5, peak_mb=100.0, load=0.5)

    monkeypatch.setattr(bench_scale, "run_command", fake_run)
    figures = bench_scale.compare_workers(tmp_path, [[], []], workers=1)
    assert len(runs) == 1 and figures["workers_1_vs_1"] == 1.0
