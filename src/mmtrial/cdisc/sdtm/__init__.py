"""SDTM datasets: one builder per domain, fed by mmtrial.cdisc.source, written by .export."""
