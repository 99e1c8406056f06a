"""The job's runtime plumbing: the one SparkSession builder (spark.py) with the driver's quiet
log4j2 file, stage progress for people (progress.py), and the fault points the crash-safety
tests kill a run at (faults.py)."""
