"""Regression over time: the nightly pipeline, the diff of two runs, merging the runs of several hosts.

Built on the rules, the store and the reports; nothing below it imports it (only the CLI and
``ci/nightly`` do).
"""
