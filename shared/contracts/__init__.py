"""Validated, versioned models for everything that crosses a boundary in DIVA.

User configuration (`options`), stored state (`state`), and later commands and results that
cross accounts. Every stored or transmitted model carries a `schema_version`.
"""
