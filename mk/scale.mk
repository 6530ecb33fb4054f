# Scale: files of millions of customers (docs/scale.md).
SCALE_SIZES ?= 10000,100000,1000000,10000000
SCALE_DIR ?= /tmp/churn-scale
SCALE_REPEATS ?= 3

.PHONY: benchmark-scale test-scale

benchmark-scale: venv ## rows vs time and peak RSS of churn predict/validate (SCALE_SIZES, SCALE_DIR, SCALE_REPEATS)
	$(PY) benchmarks/scale_benchmark.py --sizes $(SCALE_SIZES) --workdir $(SCALE_DIR) --repeats $(SCALE_REPEATS)

test-scale: venv ## the scale tests (streaming, Spark local mode)
	$(UV) sync --frozen --inexact --group spark
	$(VENV)/bin/pytest tests/scale $(PYTEST_ARGS)
