from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


class ClientCredentialsValidator(OAuth2Validator):
    """Only the client-credentials grant, only for clients created through our services."""

    def validate_grant_type(self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        if grant_type != "client_credentials":
            return False
        if not hasattr(client, "wx_client"):
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)
