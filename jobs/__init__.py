"""Entry points and I/O of relief: the statewide job, county pulls, audit, report, CLI."""

__version__ = "0.1.0"
