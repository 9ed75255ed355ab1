"""ADaM datasets: the analysis derivations of mmtrial.analysis.derive, with traceability to SDTM."""
