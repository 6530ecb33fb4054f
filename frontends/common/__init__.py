"""Pieces both frontends share: the service client, CSV row checking, Prometheus text parsing."""
