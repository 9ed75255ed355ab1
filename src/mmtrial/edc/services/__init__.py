"""Services: every write to study data. Each validates, calls the clinical rule that owns the
decision, and writes the record and its audit event in one transaction.

One module per noun; import from the module (`from mmtrial.edc.services.labs import ...`).
"""
