"""Examples for lab engineers; each subdirectory stands alone (see its README)."""
