"""Write a JSON token file (the reference's own JSONTokenStorage) at GlobusApp's default
path under HOME, with valid tokens for auth.globus.org and transfer.api.globus.org.

Usage: python make_token_file.py HOME
Prints the path. Both the Rust `cli header` and `cold_header.py` read this file.
"""

import os
import sys

from common import TRANSFER_RS, default_token_file, sample_tokens
from globus_sdk.token_storage import JSONTokenStorage

path = default_token_file(sys.argv[1])
os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
storage = JSONTokenStorage(path)
storage.store_token_data_by_resource_server(sample_tokens(["auth.globus.org", TRANSFER_RS]))
storage.close()
print(path)
