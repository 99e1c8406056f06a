"""Helpers the test modules share (data builders, the cluster, the S3 server); no test module
imports another test module."""
