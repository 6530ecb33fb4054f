"""Files of any size: chunked reading, checking, scoring and writing (docs/scale.md)."""
