"""Tests of the nightly pipeline: regression diff, merge of several hosts' runs, trends, ci/nightly."""
