"""The data model dmct exchanges: plan, results and issues formats, pack manifests, the TTM catalogue.

Parsing and validation of the files people and tools hand each other (``docs/interchange.md``). It reads
files it is given and imports only :mod:`harness.errors` and :mod:`harness.yamlio`: the rules, the store,
the plugin and the reports all speak these types, so nothing here may import them.
"""
