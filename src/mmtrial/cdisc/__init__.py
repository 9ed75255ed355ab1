"""CDISC writers: SDTM, ADaM, Define-XML, ODM, USDM."""
