"""Selectors: every read of study data, scoped to the user's sites, with bounded query counts."""
