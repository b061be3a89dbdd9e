"""The Test Traceability Matrix: the requirements catalogue the pack tests name in their marks."""
