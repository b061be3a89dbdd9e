"""Tests of the reports layer: DMCT Testing / EPCL / weekly reports, heatmap, redaction, evidence bundles."""
