"""Synthetic DOJ extracts for the demo, the tests and the benchmark: every name and number
made up (generate.py), and malformed lines planted on purpose (bad_lines.py)."""
