"""Efficacy and safety analyses of the study (pandas, lifelines, matplotlib)."""
