"""Packaging: the BentoML model store and the Bento."""
