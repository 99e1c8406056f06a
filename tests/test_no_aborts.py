"""No command aborts at exit: every read-only command, in 30 interpreters, exits 0 every time.

The abort ("terminate called without an active exception", exit 134) came from delta-rs'
default reader: it wraps the table's storage in a Python file system, so Arrow's I/O threads
hold Python buffers; one released while the interpreter exits takes the GIL, CPython ends that
thread with pthread_exit, and unwinding the C++ worker calls std::terminate. Every read now
goes through a native pyarrow file system (jobs/warehouse/storage.read_arrow). Before the fix
`relief audit diff` aborted in about 1 run of 10 and `county pull --format csv` in 1 of 4.

Two small warehouses written once with delta-rs: a county one (pull, packet) and an audit one
(history, diff, explain, verify, report, quarantine). Each of the 30 rounds is one `relief`
interpreter that runs all eleven commands through relief's own entry point (jobs/cli.main, as
the `relief` script does), each exit code checked, and then exits: 30 interpreter exits after
every read path instead of 330 processes. The order turns each round, so every command is the
last one before the exit in two or three rounds. The rounds go two at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.audit_warehouse import (
    build_warehouse,
    hash_of_policy_dir,
    record_id,
    write_policy_dir,
)
from tests.helpers.county_tables import fresno_rows, row, write_county
from tests.helpers.ledger_rows import publish

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TIMES = 30
WORKERS = 2
NAMES = ["pull csv", "pull parquet", "pull xlsx", "pull gogen", "packet", "history", "diff",
         "explain", "verify", "report", "quarantine"]  # fmt: skip

# One interpreter: every command in the given order through relief's entry point, each exit
# code kept; printed as JSON, then the interpreter exits as `relief` does.
ROUND = """
import contextlib, io, json, sys
from relief.jobs.cli import main
codes = []
for name, args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args, prog_name="relief")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    codes.append([name, code, err.getvalue()[-300:]])
print(json.dumps(codes))
sys.exit(0 if all(code == 0 for _, code, _ in codes) else 3)
"""


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
    out = root / "out" / "{n}"  # each round writes into its own folder
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


def run_round(commands: dict[str, list[str]], n: int) -> tuple[int, str, str]:
    """Round n: every command in one interpreter, starting at command n (mod 11)."""
    names = NAMES[n % len(NAMES) :] + NAMES[: n % len(NAMES)]
    batch = [[name, [a.replace("{n}", str(n)) for a in commands[name]]] for name in names]
    done = subprocess.run([sys.executable, "-c", ROUND, json.dumps(batch)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    return done.returncode, done.stdout, done.stderr[-500:]


def test_every_read_only_command_exits_0_and_its_interpreter_exits_cleanly_every_time(
    commands: dict[str, list[str]],
):
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda n: run_round(commands, n), range(TIMES)))
    failures = [(n, code, err) for n, (code, _, err) in enumerate(results) if code != 0]
    assert not failures, f"{len(failures)} of {TIMES} rounds failed, e.g. {failures[0]}"
    last = {}
    for n, (_, out, _) in enumerate(results):
        codes = json.loads(out.strip().splitlines()[-1])
        assert sorted(name for name, _, _ in codes) == sorted(NAMES), n
        assert [(name, code) for name, code, _ in codes if code != 0] == [], (n, codes)
        last[codes[-1][0]] = last.get(codes[-1][0], 0) + 1
    assert sorted(last) == sorted(NAMES) and min(last.values()) >= 2  # each one last, twice
