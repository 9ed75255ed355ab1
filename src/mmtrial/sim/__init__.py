"""The simulated cohort and the demo study; writes through the EDC services."""
