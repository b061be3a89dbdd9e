"""Pure rules: exit verdicts and profiles, working days, Work Off Plans, defect detection coverage.

Functions of plain data (the interchange model) and the clock they are given, so an auditor can recompute
a verdict from an evidence bundle and every rule is tested without a lab or a database. Nothing here
opens a database, a device, a report file or a process: the import-rules test
(``tests/architecture``) forbids the store, the lab, the plugin, the reports, the CLI and the drivers.
"""
