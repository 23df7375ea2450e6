"""Drive the Python globus-sdk (the reference) against the fake Globus Auth server.

Usage: python against_fake.py BASE_URL NATIVE_CLIENT_ID CONF_ID CONF_SECRET DEP_SCOPE
Prints one "ok: ..." line per check; any failure raises (non-zero exit).
"""

import sys
import urllib.error
import urllib.parse
import urllib.request

base_url, native_id, conf_id, conf_secret, dependent = sys.argv[1:6]

import os  # noqa: E402

os.environ["GLOBUS_SDK_SERVICE_URL_AUTH"] = base_url

import globus_sdk  # noqa: E402
from globus_sdk.login_flows import CommandLineLoginFlowManager  # noqa: E402

TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def consent(authorize_url):
    """What a user's browser does: open the URL, get redirected with a code."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(authorize_url)
    except urllib.error.HTTPError as e:
        if e.code != 302:
            raise
        location = e.headers["Location"]
    else:
        raise AssertionError("no redirect")
    return urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]


class BrowserlessFlow(CommandLineLoginFlowManager):
    """The command-line flow, with the 'user' following the URL and pasting the code."""

    def print_authorize_url(self, authorize_url):
        self._code = consent(authorize_url)

    def prompt_for_code(self):
        return self._code


# 1. The low-level client: PKCE login, id_token verified against the JWKs.
client = globus_sdk.NativeAppAuthClient(native_id)
client.oauth2_start_flow(
    requested_scopes=["openid", "profile", "email", f"{TRANSFER}[{dependent}]"],
    refresh_tokens=True,
)
tokens = client.oauth2_exchange_code_for_tokens(consent(client.oauth2_get_authorize_url()))
assert sorted(tokens.by_resource_server) == ["auth.globus.org", "transfer.api.globus.org"]
claims = tokens.decode_id_token()  # fetches openid-configuration and jwk.json, checks RS256
assert claims["aud"] == native_id, claims
print("ok: native login with PKCE; id_token signature verified; sub", claims["sub"])

# 2. Refresh keeps the refresh token; consents show the dependent scope.
transfer = tokens.by_resource_server["transfer.api.globus.org"]
refreshed = client.oauth2_refresh_token(transfer["refresh_token"])
assert refreshed.by_resource_server["transfer.api.globus.org"]["refresh_token"] == transfer["refresh_token"]
print("ok: refresh")
auth_token = tokens.by_resource_server["auth.globus.org"]["access_token"]
auth = globus_sdk.AuthClient(authorizer=globus_sdk.AccessTokenAuthorizer(auth_token))
forest = auth.get_consents(claims["sub"]).to_forest()
assert forest.meets_scope_requirements(f"{TRANSFER}[{dependent}]")
print("ok: consent forest meets the dependent scope")
assert auth.userinfo()["sub"] == claims["sub"]
print("ok: userinfo")

# 3. Revoke, then the refresh token is refused with invalid_grant.
client.oauth2_revoke_token(transfer["refresh_token"])
try:
    client.oauth2_refresh_token(transfer["refresh_token"])
except globus_sdk.AuthAPIError as e:
    assert e.http_status == 400 and "invalid_grant" in e.text, (e.http_status, e.text)
else:
    raise AssertionError("refresh after revoke succeeded")
print("ok: revoked refresh token is invalid_grant")

# 4. A whole UserApp: login, an authorizer, the consents-based dependent-scope check.
config = globus_sdk.GlobusAppConfig(
    login_flow_manager=BrowserlessFlow,
    token_storage="memory",
    request_refresh_tokens=True,
)
with globus_sdk.UserApp(
    "fake-auth interop",
    client_id=native_id,
    scope_requirements={"transfer.api.globus.org": [f"{TRANSFER}[{dependent}]"]},
    config=config,
) as app:
    app.login()
    header = app.get_authorizer("transfer.api.globus.org").get_authorization_header()
    assert header.startswith("Bearer "), header
    assert not app.login_required()
print("ok: UserApp login and authorizer")

# 5. Client credentials.
conf = globus_sdk.ConfidentialAppAuthClient(conf_id, conf_secret)
cc = conf.oauth2_client_credentials_tokens(requested_scopes=TRANSFER)
assert list(cc.by_resource_server) == ["transfer.api.globus.org"]
introspected = conf.oauth2_token_introspect(cc.by_resource_server["transfer.api.globus.org"]["access_token"])
assert introspected["active"] is True and introspected["client_id"] == conf_id
print("ok: client credentials and introspection")
