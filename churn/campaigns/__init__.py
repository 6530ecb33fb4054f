"""Retention campaigns: who to contact within a budget, a control group, and what the offers saved.

Framework-free core (pandas, numpy, scikit-learn): ranking, the stratified split and the power
figure (`plan`), the intervals and tests (`stats`), the outcome window (`window`), the report
(`report`) and its effects by segment (`segments`), the contacts file (`contacts`), the
two-model uplift learner and its Qini evidence (`uplift`), and outcomes simulated with a known
truth (`simulate`). The store is `churn.db.campaigns`; the commands are `churn campaign ...`
(churn/cli/campaign.py, campaign_plan.py, campaign_design.py); docs/campaigns.md explains the
design.
"""
