"""Helpers shared by the Python halves of the comparison (globus-sdk 4.10, the reference)."""

import os
import time

TRANSFER_RS = "transfer.api.globus.org"
TRANSFER_ALL = "urn:globus:auth:scope:transfer.api.globus.org:all"
# The id the fake Globus Auth registers as its native client; any UUID works offline.
NATIVE_CLIENT_ID = "6a9b2d7e-0c4f-4f3a-9b1e-3d5c7a9e1f20"
IDENTITY_ID = "7f3e1a52-9c4b-4d8e-a1f6-2b3c4d5e6f70"
APP_NAME = "Unnamed Globus App"


def sample_tokens(resource_servers, lifetime=86_400):
    """Made-up, valid-looking token data (not real tokens), one per resource server."""
    from globus_sdk.token_storage import TokenStorageData

    now = int(time.time())
    out = {}
    for i, rs in enumerate(resource_servers):
        scope = "openid profile email" if rs == "auth.globus.org" else f"urn:globus:auth:scope:{rs}:all"
        out[rs] = TokenStorageData(
            resource_server=rs,
            identity_id=IDENTITY_ID,
            scope=scope,
            access_token=f"benchAT{i:03d}" + "x" * 40,
            refresh_token=f"benchRT{i:03d}" + "y" * 40,
            expires_at_seconds=now + lifetime,
            token_type="Bearer",
        )
    return out


def default_token_file(home, client_id=NATIVE_CLIENT_ID, app_name=APP_NAME):
    """The file GlobusApp uses by default for this client and app name (production)."""
    slug = app_name.lower().replace(" ", "-").replace(".", "-")
    return os.path.join(home, ".globus", "app", client_id, slug, "tokens.json")
