# The feature store (docs/features.md): customers by ID through Feast.
FEATURES_AS_OF ?= now
FEATURES_BENCH_DIR ?= /tmp/churn-features-bench

.PHONY: features benchmark-features benchmark-features-serving

features: venv data ## ingest DATA into the feature store as of FEATURES_AS_OF, then materialize it
	$(CHURN) features ingest $(DATA) --as-of $(FEATURES_AS_OF)
	$(CHURN) features materialize

benchmark-features: venv ## ingest 10M and materialize 1M customers to a loopback Redis (medians of 3)
	$(PY) benchmarks/features_benchmark.py --workdir $(FEATURES_BENCH_DIR)

benchmark-features-serving: venv ## by-ID /predict against a loopback Redis beside the full-record /predict (medians of 3)
	$(PY) benchmarks/features_serving.py
