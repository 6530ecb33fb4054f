"""The TLS edge proxy (deploy/edge), started for real."""
