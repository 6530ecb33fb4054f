"""Training tests use the shared `trained_model` plugin, registered by tests/conftest.py."""
