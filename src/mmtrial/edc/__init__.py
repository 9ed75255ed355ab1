"""The study database: records, audited services, selectors, queries, signatures, locking."""
