"""Selectors: every read of study data, scoped to the user's sites, with bounded query counts."""

from mmtrial.edc.selectors.analysis import analysis_source

__all__ = ["analysis_source"]
