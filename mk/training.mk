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

# Training at a telco's size (issue #37, docs/scale.md "Training with row caps"): rows vs wall time,
# CPU and peak RSS of `churn train` on `churn generate --seed 7` files, and the learning curve behind
# the row caps (docs/training.md). Timing figures belong on an otherwise idle machine.
TRAIN_SCALE_ROWS ?= 10000 100000 1000000
TRAIN_SCALE_REPEATS ?= 1
TRAIN_SCALE_DIR ?= /tmp/churn-train-scale
LEARNING_CURVE_SIZES ?= 10000 30000 100000 300000 1000000

.PHONY: benchmark-train-scale learning-curve

benchmark-train-scale: venv ## churn train at N customers: wall, CPU, peak RSS, step times, rows each step saw (TRAIN_SCALE_ROWS)
	$(PY) benchmarks/scale_train_monitor.py train --rows $(TRAIN_SCALE_ROWS) --repeat $(TRAIN_SCALE_REPEATS) --workdir $(TRAIN_SCALE_DIR)

learning-curve: venv ## ROC-AUC per family against training rows (LEARNING_CURVE_SIZES; add points with POOL=customers.csv)
	$(PY) benchmarks/learning_curve.py --sizes $(LEARNING_CURVE_SIZES) --out docs/img/learning_curve.json \
		--plot docs/img/learning_curve.png $(if $(POOL),--pool $(POOL))
