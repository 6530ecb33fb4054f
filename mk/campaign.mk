# Retention campaigns (docs/campaigns.md). `make campaign-demo` runs a campaign end to end on a
# simulated truth: plan (top DEMO_BUDGET of DEMO_ROWS generated customers, half held out), outcomes
# simulated with an offer that works on DSL customers and backfires on fiber customers, imported
# through `churn outcomes import`, the report, uplift learning, the campaign closed, and only then
# a next plan ranked by uplift within the customers the evidence covers (refused when the
# evidence is not there). Two campaigns never share a customer while both run: a plan leaves out
# the customers of running campaigns, so the demo closes the first before planning the second.
# `churn campaign power` first prints what a plan of this size can detect. Needs a production
# model (`make run`).
DEMO_DIR ?= $(or $(CHURN_REPORTS_DIR),reports)/campaign-demo
DEMO_ROWS ?= 8000
DEMO_BUDGET ?= 4000
DEMO_NEXT_BUDGET ?= 2000
DEMO_HORIZON_DAYS ?= 30
DEMO_SEED ?= 11
DEMO_NAME ?= demo-$(shell date -u +%Y%m%dT%H%M%S)
DEMO_EFFECTS ?= --segment-effect InternetService=DSL:0.6 --segment-effect "InternetService=Fiber optic:-0.2"

.PHONY: campaign-demo

campaign-demo: venv ## a retention campaign end to end on simulated outcomes with a known truth
	@mkdir -p $(DEMO_DIR)
	$(CHURN) generate --rows $(DEMO_ROWS) --seed $(DEMO_SEED) --out $(DEMO_DIR)/customers.csv
	$(CHURN) campaign power --budget $(DEMO_BUDGET) --control-share 0.5 --baseline 0.5
	$(CHURN) campaign plan $(DEMO_NAME) --customers $(DEMO_DIR)/customers.csv \
		--budget $(DEMO_BUDGET) --control-share 0.5 --horizon-days $(DEMO_HORIZON_DAYS) \
		--out $(DEMO_DIR)/contacts.csv
	$(CHURN) campaign simulate $(DEMO_NAME) --customers $(DEMO_DIR)/customers.csv \
		$(DEMO_EFFECTS) --seed $(DEMO_SEED) --out $(DEMO_DIR)/outcomes.csv | tee $(DEMO_DIR)/truth.json
	$(CHURN) outcomes import $(DEMO_DIR)/outcomes.csv
	$(CHURN) campaign report $(DEMO_NAME)
	$(CHURN) campaign report $(DEMO_NAME) --json > $(DEMO_DIR)/report.json
	$(CHURN) campaign learn $(DEMO_NAME) --customers $(DEMO_DIR)/customers.csv --seed $(DEMO_SEED)
	$(CHURN) campaign close $(DEMO_NAME)
	$(CHURN) campaign plan $(DEMO_NAME)-next --customers $(DEMO_DIR)/customers.csv \
		--budget $(DEMO_NEXT_BUDGET) --rank uplift --uplift-from $(DEMO_NAME) \
		--horizon-days $(DEMO_HORIZON_DAYS) \
		--out $(DEMO_DIR)/contacts_next.csv \
		|| echo ">> the next plan stays on --rank value: the uplift evidence is not there"
	@echo ">> campaign-demo: $(DEMO_NAME); files in $(DEMO_DIR)"
