"""Ledger rows for test warehouses written by hand with delta-rs: readers serve the versions
the latest succeeded run's row names (jobs/warehouse/publication.py), so a test warehouse
publishes its tables with one such row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from relief.jobs.warehouse import ledger
from relief.jobs.warehouse.inputs import InputFile
from relief.jobs.warehouse.storage import Warehouse

FINGERPRINT = "cd34" * 16


def publish(
    root: Path,
    run_id: str,
    versions: dict[str, int],
    compute_at: dt.date = dt.date(2026, 11, 22),
    started: dt.datetime | None = None,
    partial: bool = False,
) -> None:
    """Record a succeeded run naming ``versions`` ({county slug: table version}): a statewide
    run, or with ``partial`` a --counties run of those counties (the others keep what earlier
    runs published)."""
    started = started or dt.datetime.now(dt.UTC)
    ledger.record(
        Warehouse(root),
        ledger.RunRecord(
            run_id=run_id,
            started_at=started,
            compute_at=compute_at,
            inputs=[InputFile(0, "/data/extract.csv", FINGERPRINT, 1234)],
            counties_requested=sorted(versions) if partial else None,
            status=ledger.STATUS_SUCCEEDED,
            finished_at=started + dt.timedelta(minutes=1),
            county_versions=[
                {"county": slug, "version": version, "rows": None, "policy_hash": None}
                for slug, version in sorted(versions.items())
            ],
        ),
    )
