"""Retention campaigns: who to contact within a budget, a control group, and what the offers saved.

Framework-free core (pandas, numpy, scikit-learn): ranking and arm assignment (`plan`), the
bootstrap report (`report`), the two-model uplift learner and its Qini evidence (`uplift`), and
outcomes simulated with a known truth (`simulate`). The store is `churn.db.campaigns`; the
commands are `churn campaign ...` (churn/cli/campaign.py); docs/campaigns.md explains the design.
"""
