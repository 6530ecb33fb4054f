# Training pipeline targets. Owned by the training part. UV, VENV, PY, CHURN, DATA: root Makefile.
# The run config is validated strictly before ZenML starts (unknown keys are an error).
TRAIN_CONFIG ?= configs/training.yaml
REAL_DATA ?= $(or $(CHURN_REAL_DATA),$(shell $(PY) -c "from churn.settings import Settings; print(Settings().real_data)" 2>/dev/null))

.PHONY: train train-fast train-real bento model-status rollback mlflow-ui training-benchmark

train: venv ## run the training pipeline (make train [DATA=path.csv] [TRAIN_CONFIG=...])
	$(CHURN) train --config $(TRAIN_CONFIG) --data $(DATA)

train-fast: venv ## the training pipeline with small grids (configs/training_fast.yaml)
	$(CHURN) train --config configs/training_fast.yaml --data $(DATA)

train-real: venv ## train on the public IBM data (CHURN_REAL_DATA)
	@test -f $(REAL_DATA) || { echo "no real data at $(REAL_DATA)"; exit 1; }
	$(CHURN) train --config $(TRAIN_CONFIG) --data $(REAL_DATA)

bento: venv ## build the Bento from bentofile.yaml (needs a production model in the store)
	$(PY) -c "from steps.package.bento import build_bento; print(build_bento())"

model-status: venv ## production and latest model versions as JSON
	$(CHURN) model status

rollback: venv ## put the previous production model version back (ZenML, MLflow alias, BentoML)
	$(CHURN) rollback

mlflow-ui: venv ## MLflow UI on 127.0.0.1:5000 over the local tracking store
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns.db --host 127.0.0.1 --port 5000

training-benchmark: venv ## wall time of the pipeline and each step on the real data
	$(PY) benchmarks/training_benchmark.py
