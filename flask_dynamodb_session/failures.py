"""What a failed DynamoDB call says: what went wrong, and what to do.

The gateway turns a failed call into :class:`~.exceptions.SessionBackendError`
with one of these messages; the request path logs it and the CLI prints it.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from botocore.exceptions import PartialCredentialsError

from .lean_transport import LeanClient

if t.TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError

#: Where botocore looks for credentials, besides the two variables.
ELSEWHERE = (
    "or use what else botocore reads: a profile (AWS_PROFILE,"
    " ~/.aws/credentials, ~/.aws/config, SSO), a web identity token, or a"
    " container or instance role"
)
#: The ends of the host names of AWS's own endpoints.
AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


def where(client: t.Any) -> tuple[str | None, str | None]:
    """The region and the endpoint URL a client sends its calls to.

    :param client: a boto3 DynamoDB client, or a lean one.
    """
    if isinstance(client, LeanClient):
        return client.settings.region, client.settings.endpoint_url
    meta = getattr(client, "meta", None)
    return getattr(meta, "region_name", None), getattr(meta, "endpoint_url", None)


def missing_table(table: str, region: str | None, endpoint: str | None) -> str:
    """A table not found: named with the region and the endpoint asked, so
    that a wrong region is not mistaken for a table to create."""
    return (
        f"the session table {table!r} does not exist in region"
        f" {region or 'unknown'} at {endpoint or 'an unknown endpoint'};"
        " check SESSION_DYNAMODB_REGION and SESSION_DYNAMODB_ENDPOINT_URL, or"
        " create it with `flask dynamo-session create-table` (or set"
        " SESSION_DYNAMODB_AUTO_CREATE)"
    )


def no_credentials(exc: BotoCoreError, endpoint: str | None) -> str:
    """No credentials, or only part of them: where to put them, and for a
    local server (DynamoDB Local, dynalite, moto) that any pair will do."""
    if isinstance(exc, PartialCredentialsError):
        found = f"no complete AWS credentials were found ({exc})"
    else:
        found = "no AWS credentials were found"
    text = f"{found}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, {ELSEWHERE}"
    if endpoint is not None and not is_aws(endpoint):
        text += (
            f"; {endpoint} is not AWS: any pair works for DynamoDB Local,"
            " dynalite or moto, such as AWS_ACCESS_KEY_ID=local"
            " AWS_SECRET_ACCESS_KEY=local"
        )
    return text


def is_aws(endpoint: str) -> bool:
    """Whether an endpoint URL is one of AWS's own."""
    host = (urlsplit(endpoint).hostname or "").lower()
    return host.endswith(AWS_HOSTS)
