"""The Feast feature repository: the `customer` entity and its feature views (account, services,
billing). Its configuration is built from `churn.settings` in code
(`churn.feature_store.config`), never from a hand-edited `feature_store.yaml`."""
