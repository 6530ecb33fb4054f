"""Data steps: ingest, validate (Evidently), split."""
