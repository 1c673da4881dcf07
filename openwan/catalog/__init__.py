"""Catalogue: the category tree, per-type catalogue schemas, metadata validation, bulk work."""
