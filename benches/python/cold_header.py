"""Cold start of the reference: a fresh process opens GlobusApp's default JSON token
file (under $HOME) and prints an Authorization header. The Rust counterpart is
`cli --client-id ID --scope transfer.api.globus.org=... header transfer.api.globus.org`.
"""

import globus_sdk

from common import APP_NAME, NATIVE_CLIENT_ID, TRANSFER_ALL, TRANSFER_RS

app = globus_sdk.UserApp(
    APP_NAME,
    client_id=NATIVE_CLIENT_ID,
    scope_requirements={TRANSFER_RS: [TRANSFER_ALL]},
)
print(app.get_authorizer(TRANSFER_RS).get_authorization_header())
