"""The service takes the company provider's access tokens (issue #34): a machine's
client-credentials JWT from a real OpenID provider on loopback (npm `oidc-provider`) calls
`/predict` with the scope it was given; a token for another audience or a forged one is a 401
that says why, beside the project's own tokens, which still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from churn.schema import EXAMPLE_RECORD
from tests.fixtures.launcher import RunningService, StartService
from tests.fixtures.oidc import Provider, machine_client, oidc_provider


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    clients = [machine_client("churn-batch", "batch-client-secret")]
    with oidc_provider(tmp_path_factory.mktemp("oidc"), clients, {}) as running:
        yield running


@pytest.fixture(scope="module")
def service(start: StartService, provider: Provider) -> RunningService:
    return start(
        "provider-tokens", CHURN_OIDC_ISSUER=provider.issuer, CHURN_OIDC_AUDIENCE=provider.audience
    )


def _post(service: RunningService, path: str, token: str, body: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.post(f"{service.url}{path}", json=body, headers=headers, timeout=30)


def test_a_client_credentials_token_gets_its_scope(
    service: RunningService, provider: Provider
) -> None:
    predict = provider.client_credentials_token("churn-batch", "churn.predict")
    assert _post(service, "/predict", predict, {"customer": EXAMPLE_RECORD}).status_code == 200
    refused = _post(service, "/outcomes", predict, {"outcomes": []})
    assert refused.status_code == 403 and "admin" in refused.text
    admin = provider.client_credentials_token("churn-batch", "churn.predict churn.admin")
    assert _post(service, "/model_info", admin, {}).status_code == 200
    assert service.token and _post(service, "/model_info", service.token, {}).status_code == 200


def test_forged_or_foreign_tokens_are_refused_with_the_reason(
    service: RunningService, provider: Provider
) -> None:
    token = provider.client_credentials_token("churn-batch", "churn.predict")
    head, body, signature = token.split(".")
    forged = ".".join((head, body, signature[::-1]))
    answer = _post(service, "/predict", forged, {"customer": EXAMPLE_RECORD})
    assert answer.status_code == 401 and "token refused" in answer.text
    assert answer.headers["www-authenticate"].endswith('error="invalid_token"')
    unknown = _post(service, "/predict", "eyJ" + "x" * 200, {"customer": EXAMPLE_RECORD})
    assert unknown.status_code == 401
