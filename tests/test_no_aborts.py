"""No command aborts at exit: every read-only command, run 30 times, exits 0 every time.

The abort ("terminate called without an active exception", exit 134) came from delta-rs'
default reader: it wraps the table's storage in a Python file system, so Arrow's I/O threads
hold Python buffers; one released while the interpreter exits takes the GIL, CPython ends that
thread with pthread_exit, and unwinding the C++ worker calls std::terminate. Every read now
goes through a native pyarrow file system (jobs/warehouse/storage.read_arrow). Before the fix
`relief audit diff` aborted in about 1 run of 10 and `county pull --format csv` in 1 of 4.

Two small warehouses written once with delta-rs: a county one (pull, packet) and an audit one
(history, diff, explain, verify, report, quarantine). The runs go two at a time.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.ledger_rows import publish
from tests.test_audit import build_warehouse, hash_of_policy_dir, record_id, write_policy_dir
from tests.test_county import fresno_rows, row, write_county

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RELIEF = str(Path(sys.executable).with_name("relief"))
TIMES = 30
WORKERS = 2


@pytest.fixture(scope="module")
def commands(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    root = tmp_path_factory.mktemp("no-aborts")
    county = root / "county-warehouse"
    write_county(county, "fresno", fresno_rows()[:3], "run-1")
    write_county(county, "fresno", fresno_rows(), "run-2")
    write_county(county, "kern", [row(1, "S1", county="KERN")], "run-2")
    publish(county, "run-2", {"fresno": 1, "kern": 0})
    policies = write_policy_dir(root / "policies")
    audit = build_warehouse(root / "audit-warehouse", hash_of_policy_dir(policies))
    out = root / "out" / "{n}"  # each run writes into its own folder
    pull = ["county", "pull", "--warehouse", str(county), "--county", "fresno"]
    on_audit = ["--warehouse", str(audit)]
    return {
        "pull csv": [*pull, "--out", str(out / "csv"), "--format", "csv"],
        "pull parquet": [*pull, "--out", str(out / "parquet"), "--format", "parquet"],
        "pull xlsx": [*pull, "--out", str(out / "xlsx"), "--format", "xlsx"],
        "pull gogen": [*pull, "--out", str(out / "gogen"), "--format", "gogen"],
        "packet": [
            "county",
            "packet",
            "--warehouse",
            str(county),
            "--county",
            "fresno",
            "--out",
            str(out / "packet"),
        ],
        "history": ["audit", "history", *on_audit, "--county", "fresno"],
        "diff": ["audit", "diff", *on_audit, "--county", "fresno", "--from", "0", "--to", "1"],
        "explain": [
            "audit",
            "explain",
            *on_audit,
            "--county",
            "fresno",
            "--record-id",
            record_id(2),
            "--policy-dir",
            str(policies),
        ],
        "verify": ["audit", "verify", *on_audit],
        "report": ["report", *on_audit, "--out", str(out / "report")],
        "quarantine": ["quarantine", *on_audit],
    }


def run_once(args: list[str], n: int) -> tuple[int, str]:
    command = [RELIEF, *(a.replace("{n}", str(n)) for a in args)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    return done.returncode, done.stderr[-500:]


@pytest.mark.parametrize(
    "name",
    ["pull csv", "pull parquet", "pull xlsx", "pull gogen", "packet", "history", "diff",
     "explain", "verify", "report", "quarantine"],
)  # fmt: skip
def test_a_read_only_command_exits_0_every_time(commands: dict[str, list[str]], name: str):
    args = commands[name]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(run_once, [args] * TIMES, range(TIMES)))
    failures = [(i, code, err) for i, (code, err) in enumerate(results) if code != 0]
    assert not failures, f"{name}: {len(failures)} of {TIMES} runs failed, e.g. {failures[0]}"
