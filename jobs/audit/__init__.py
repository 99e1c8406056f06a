"""The audit trail: who decided what, when, with which rules, on which input (no Spark).

``relief audit`` (jobs/audit/cli.py) answers an auditor's questions from the Delta logs of the
county tables and the runs ledger, read with delta-rs (``deltalake``) and pyarrow only. Nothing
here imports pyspark, so an auditor needs ``pip install`` and no JVM.

- history.py: one entry per version of a county's table;
- diff.py: per record, what changed between two versions;
- explain.py: why one conviction got its determination;
- verify.py: every table version accounted for by a succeeded run in the ledger;
- report.py: the static HTML report of a run's figures;
- validation_page.py: a run's validation page (every expectation and its result);
- pages.py: the Jinja2 environment both pages are rendered with (templates/, autoescaped).
"""
