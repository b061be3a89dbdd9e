"""Reports a lab is judged on: the DMCT Testing Report, the DMCT EPCL Report, the heatmap, the weekly
test execution report, JUnit XML — and their redaction for publication.

Why a package of pure builders: the SVTAD asks for paper whose every statement can be traced back to the
evidence (20.34 (a)-(i), 20.41-20.42, 16.1-16.4, Table 13.1 #7), and an auditor holding an evidence bundle
must be able to regenerate it and get the same bytes. So :mod:`~harness.reports.data` does all the
reading (run directories, journals, the Testing Issue log) into plain dataclasses; the builders
(:mod:`~harness.reports.testing`, :mod:`~harness.reports.epcl`, :mod:`~harness.reports.weekly`) turn them
into a :class:`~harness.reports.model.Document` without touching files or the clock; and
:mod:`~harness.reports.render` writes Markdown, HTML or PDF atomically. Anything the data cannot fill is a
:class:`~harness.reports.model.Missing` block, rendered as **missing**, never left out silently.
"""
