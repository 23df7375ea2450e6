"""The reference's side of the login-cost count: run by the Rust harness
`adapters/blocking/benches/login_requests.rs`, which starts the fake Globus Auth,
points GLOBUS_SDK_SERVICE_URL_AUTH at it, and counts the requests in the server's log.

Usage: python login_requests.py MODE TOKEN_FILE [DEPENDENT_SCOPE]
  login             first login of a UserApp requiring transfer:all (+ openid, added)
  login-dependent   first login requiring transfer:all[DEPENDENT_SCOPE]
  reuse-dependent   a new UserApp on TOKEN_FILE asks for the transfer authorizer,
                    which checks the dependent scope
"""

import sys
import urllib.error
import urllib.parse
import urllib.request

import globus_sdk
from globus_sdk.login_flows import CommandLineLoginFlowManager
from globus_sdk.token_storage import JSONTokenStorage

from common import NATIVE_CLIENT_ID, TRANSFER_ALL, TRANSFER_RS

mode, token_file = sys.argv[1:3]
dependent = sys.argv[3] if len(sys.argv) > 3 else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def consent(authorize_url):
    """The user's browser: open the URL, get redirected with a code."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
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


scope = f"{TRANSFER_ALL}[{dependent}]" if mode.endswith("-dependent") else TRANSFER_ALL
app = globus_sdk.UserApp(
    "Login Cost",
    client_id=NATIVE_CLIENT_ID,
    scope_requirements={TRANSFER_RS: [scope]},
    config=globus_sdk.GlobusAppConfig(
        login_flow_manager=BrowserlessFlow,
        token_storage=JSONTokenStorage(token_file),
    ),
)
if mode.startswith("login"):
    app.login()
header = app.get_authorizer(TRANSFER_RS).get_authorization_header()
assert header.startswith("Bearer "), header
app.close()
print("ok", mode)
