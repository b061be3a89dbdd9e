"""Shared store on PostgreSQL: migrations, concurrent writers, results push and pull."""
