"""Tests of the standard test packs themselves (run against the virtual lab)."""
