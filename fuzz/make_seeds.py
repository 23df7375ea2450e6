#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/corpus/<target>/seed-*.

Seeds come from the repository's tests and fixtures (scope strings of the scope
tests, the storage fixtures' token files and SQLite rows, the token responses,
error bodies, GAREs, redirects and id_tokens of the tests) plus hand-written edge
cases. The output is deterministic: run it again after changing it, and commit the
files. It removes only files named seed-*; crash inputs and minimized inputs kept
in the corpus (other names) stay.

    python3 fuzz/make_seeds.py
"""

import base64
import hashlib
import json
import pathlib
import re
import sqlite3

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "corpus"
MAX_SEED_BYTES = 4096

CLIENT = "61338d24-54d5-408f-a10d-66c06b59f6d2"  # as in core/tests and core::fuzzing
USER = "ae341a98-d274-11e5-b888-dbae3a8ba545"
NOW = 1_700_000_000  # core::fuzzing's NOW
ISSUER = "https://auth.globus.org"

seeds = {}


def add(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= MAX_SEED_BYTES, (target, name, len(data))
    seeds.setdefault(target, {})
    # the same bytes under two names is one seed
    if data in seeds[target].values():
        return
    seeds[target][f"seed-{name}"] = data


def short_hash(data):
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha1(data).hexdigest()[:10]


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, header=None):
    header = header or {"alg": "RS256", "typ": "JWT", "kid": "fake-auth-key"}
    claims = claims if isinstance(claims, str) else json.dumps(claims)
    return f"{b64(json.dumps(header))}.{b64(claims)}.c2lnbmF0dXJl"


RUST_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def rust_literals(path):
    """The plain string literals of a Rust file, unescaped (raw strings skipped)."""
    text = (ROOT / path).read_text()
    out = []
    for m in re.finditer(r'(?<![r#\w])"((?:[^"\\\n]|\\.)*)"', text):
        body = m.group(1)
        s = re.sub(
            r"\\u\{([0-9a-fA-F]+)\}|\\x([0-9a-fA-F]{2})|\\(.)",
            lambda e: chr(int(e.group(1) or e.group(2), 16))
            if (e.group(1) or e.group(2))
            else RUST_ESCAPES.get(e.group(3), e.group(3)),
            body,
        )
        out.append(s)
    return out


# ------------------------------------------------------------------ scopes
def scopes():
    t = "scopes"
    literals = [
        s
        for s in rust_literals("core/src/scopes/tests.rs")
        if any(c in s for c in "[]*")
        and re.search(r"[a-zA-Z\u00c0-\U0010ffff]", s)
        and not re.search(r"[a-z]{4,} [a-z]{3,}", s)  # prose, not a scope string
        and not any(c in s for c in "(){},;")
        and len(s) < 300
    ]
    # a deterministic spread of the test strings
    for s in sorted(set(literals), key=short_hash)[:32]:
        add(t, f"scope-tests-{short_hash(s)}", s)
    fixture = json.loads((ROOT / "storage/tests/fixtures/python-v2.json").read_text())
    for ns in fixture["data"].values():
        for entry in ns.values():
            add(t, f"fixture-scope-{short_hash(entry['scope'])}", entry["scope"])
    add(t, "golden-login", "openid urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/c1/data_access]")
    add(t, "empty", "")
    add(t, "whitespace-only", " \t\n\u3000 ")
    # 200 distinct names nested: beyond MAX_DEPTH (128)
    add(t, "too-deep", "".join(f"s{i}[" for i in range(200)) + "x" + "]" * 200)
    add(t, "depth-128", "".join(f"s{i}[" for i in range(127)) + "x" + "]" * 127)
    # each name depends on the next two: the expanded tree doubles at each level
    chain = " ".join(f"n{i}[n{i + 1} n{i + 2}]" for i in range(30))
    add(t, "exponential-merge", chain)
    add(t, "invalid-utf8", b"openid \xff\xfe transfer[\xc3(]")
    add(t, "control-chars", "open\x01id a[b\x7f]")
    add(t, "unicode-whitespace", "a\u2028b\u00a0c[\u3000d\u0085]")
    add(t, "long-name", "x" * 3000)
    add(t, "cycle-after-merge", "a[b] b[c] c[*a]")
    add(t, "brackets-only", "[[[]]]]")
    add(t, "stars", "** *a *[b] a*")


# ------------------------------------------------------------------ token responses
def login_body(claims=None):
    claims = claims or {"sub": USER, "aud": CLIENT, "iss": ISSUER, "exp": NOW + 172800, "iat": NOW,
                        "preferred_username": "u@globusid.org", "email": "u@example.org"}
    return {
        "access_token": "AUTH-AT", "scope": "openid profile email", "resource_server": "auth.globus.org",
        "expires_in": 172800, "token_type": "Bearer", "refresh_token": "AUTH-RT",
        "id_token": jwt(claims), "state": "xyz",
        "other_tokens": [
            {"access_token": "TRANSFER-AT", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
             "resource_server": "transfer.api.globus.org", "expires_in": 3600, "token_type": "Bearer",
             "refresh_token": "TRANSFER-RT", "state": "xyz"},
            {"access_token": "GROUPS-AT", "scope": "urn:globus:auth:scope:groups.api.globus.org:all",
             "resource_server": "groups.api.globus.org", "expires_in": 60, "token_type": "Bearer",
             "refresh_token": None},
        ],
    }


def token_responses():
    t = "token_response"
    # first byte: '0' 200 JSON, '1' 200 HTML, '2' 400, '3' 401, '4' 403, '5' 429, '6' 502 HTML, '7' 503
    good = compact(login_body())
    add(t, "200-login-other-tokens", "0" + good)
    add(t, "200-minimal", "0" + compact({"access_token": "AT", "scope": "s", "resource_server": "rs", "expires_in": 10}))
    add(t, "200-client-credentials", "0" + compact({
        "access_token": "CC-AT", "scope": "urn:globus:auth:scope:transfer.api.globus.org:all",
        "resource_server": "transfer.api.globus.org", "expires_in": 172800, "token_type": "Bearer",
        "other_tokens": []}))
    for label, claims in [
        ("wrong-audience", {"sub": USER, "aud": "another-client", "iss": ISSUER, "exp": NOW + 10, "iat": NOW}),
        ("wrong-issuer", {"sub": USER, "aud": CLIENT, "iss": "https://evil.example", "exp": NOW + 10, "iat": NOW}),
        ("expired", {"sub": USER, "aud": CLIENT, "iss": ISSUER, "exp": NOW - 301, "iat": NOW - 1000}),
        ("no-sub", {"aud": CLIENT, "iss": ISSUER, "exp": NOW + 10, "iat": NOW}),
        ("audience-list", {"sub": USER, "aud": ["x", CLIENT], "iss": ISSUER + "/", "exp": NOW, "iat": NOW}),
    ]:
        add(t, f"200-id-token-{label}", "0" + compact(login_body(claims)))
    bad = login_body()
    bad["id_token"] = "not-a-jwt"
    add(t, "200-id-token-not-a-jwt", "0" + compact(bad))
    add(t, "200-truncated", "0" + good[: len(good) // 2])
    add(t, "200-truncated-long-token", "0" + '{"access_token": "AgV8abcdefghijklmnopqrstuvwxyz0123456789')
    add(t, "200-html", "1<html><body>Maintenance</body></html>")
    add(t, "200-empty", "0")
    add(t, "200-array", "0[]")
    dup = login_body()
    dup["other_tokens"][1]["resource_server"] = "transfer.api.globus.org"
    add(t, "200-duplicate-resource-server", "0" + compact(dup))
    for label, value in [("space", "has space"), ("newline", "line\nbreak"), ("non-ascii", "é"), ("empty", "")]:
        b = login_body()
        b["other_tokens"][0]["access_token"] = value
        add(t, f"200-token-{label}", "0" + compact(b))
    for label, value in [("huge", 2**63 - 1), ("negative", -5), ("float", 3600.5), ("string", "soon"), ("u64", 2**64 - 1)]:
        b = {"access_token": "AT", "scope": "s", "resource_server": "rs", "expires_in": value}
        add(t, f"200-expires-in-{label}", "0" + compact(b))
    add(t, "200-other-tokens-not-a-list", "0" + compact({**login_body(), "other_tokens": "nope"}))
    add(t, "200-wrong-type-long-secret", "0" + compact({
        "access_token": "AgV8SecretSecretSecretSecret0123", "scope": 5, "resource_server": "rs", "expires_in": 1}))
    add(t, "200-deep-nesting", "0" + "[" * 2000)
    add(t, "200-invalid-utf8", b"0{\"access_token\": \"\xff\xfe\", \"scope\": \"s\"}")
    add(t, "400-invalid-grant", '2{"error":"invalid_grant","error_description":"Invalid refresh token"}')
    add(t, "401-invalid-client", '3{"error":"invalid_client"}')
    add(t, "403-api-error", "4" + compact({
        "errors": [{"status": "403", "code": "FORBIDDEN", "title": "Forbidden", "detail": "no",
                    "id": "fake-auth-error-403"}],
        "error": "forbidden", "error_description": "no"}))
    add(t, "403-errors-disagree", "4" + compact({"errors": [{"code": "A", "id": "1"}, {"code": "B", "id": "2"}, "x"]}))
    add(t, "429-retry-after", "5{}")
    add(t, "502-html", "6<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>")
    add(t, "503-api-error", '7{"code": "ServiceUnavailable", "message": "down for maintenance", "request_id": "abc123"}')
    add(t, "500-empty", "6")
    add(t, "400-error-not-string", '2{"error": {"nested": true}, "error_description": 5}')


# ------------------------------------------------------------------ consents
def consents():
    t = "consents_response"
    one = {"id": 7, "scope_name": "urn:globus:auth:scope:transfer.api.globus.org:all",
           "dependency_path": [7], "client": "c", "scope": "s", "effective_identity": USER,
           "status": "approved", "allows_refresh": True, "auto_approved": False,
           "atomically_revocable": False, "created": "2024-01-01T00:00:00+00:00",
           "updated": "2024-01-01T00:00:00+00:00", "last_used": "2024-01-01T00:00:00+00:00"}
    add(t, "one-consent", "0" + compact({"consents": [one]}))
    forest = [
        {"id": 1, "scope_name": "urn:globus:auth:scope:transfer.api.globus.org:all", "dependency_path": [1]},
        {"id": 2, "scope_name": "https://auth.globus.org/scopes/C1/data_access", "dependency_path": [1, 2]},
        {"id": 3, "scope_name": "deep", "dependency_path": [1, 2, 3]},
        {"id": 4, "scope_name": "c2", "dependency_path": [4]},
    ]
    add(t, "forest", "0" + compact({"consents": forest}))
    add(t, "empty", "0" + compact({"consents": []}))
    add(t, "missing-fields", "0" + compact({"consents": [{"id": 1}]}))
    add(t, "dangling-parent", "0" + compact({"consents": [{"id": 2, "scope_name": "x", "dependency_path": [1, 2]}]}))
    add(t, "empty-path", "0" + compact({"consents": [{"id": 1, "scope_name": "a", "dependency_path": []}]}))
    add(t, "path-not-ending-with-id", "0" + compact({"consents": [{"id": 1, "scope_name": "a", "dependency_path": [2]}]}))
    add(t, "cycle", "0" + compact({"consents": [
        {"id": 1, "scope_name": "a", "dependency_path": [2, 1]},
        {"id": 2, "scope_name": "b", "dependency_path": [1, 2]},
        {"id": 3, "scope_name": "a", "dependency_path": [3]}]}))
    add(t, "duplicate-ids", "0" + compact({"consents": [
        {"id": 1, "scope_name": "a", "dependency_path": [1]},
        {"id": 1, "scope_name": "b", "dependency_path": [9, 1]}]}))
    add(t, "chain-70", "0" + compact({"consents": [
        {"id": i, "scope_name": f"s{i}", "dependency_path": list(range(1, i + 1))} for i in range(1, 71)][:40]}))
    add(t, "huge-id", "0" + compact({"consents": [{"id": 2**64 - 1, "scope_name": "a[b]", "dependency_path": [2**64 - 1]}]}))
    add(t, "negative-id", "0" + compact({"consents": [{"id": -1, "scope_name": "a", "dependency_path": [-1]}]}))
    add(t, "403-forbidden", '4{"errors":[{"code":"FORBIDDEN","detail":"no"}]}')
    add(t, "502-html", "6<html>Bad Gateway</html>")
    add(t, "not-json", "0consents")


# ------------------------------------------------------------------ GAREs
def gares():
    t = "gare"
    gare = {"code": "AuthorizationRequired", "authorization_parameters": {
        "session_message": "Log in with your campus identity",
        "session_required_single_domain": ["uchicago.edu"],
        "session_required_identities": ["id-1"], "session_required_mfa": True,
        "session_required_policies": ["p1"], "prompt": "login",
        "required_scopes": ["urn:globus:auth:scope:transfer.api.globus.org:all"]}}
    add(t, "gare-full", json.dumps(gare))
    add(t, "gare-in-errors", json.dumps({"errors": [{"code": "Other"}, gare]}))
    add(t, "e2e-single-domain", '{"code": "AuthorizationRequired", "authorization_parameters": {\n'
        '    "session_message": "Use your example.edu identity",\n'
        '    "session_required_single_domain": ["example.edu"], "prompt": "login"}}')
    add(t, "transfer-consent-required", json.dumps({
        "code": "ConsentRequired", "message": "Missing required data_access consent",
        "request_id": "abc", "required_scopes": [
            "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/C/data_access]"]}))
    add(t, "legacy-comma-lists", '{"authorization_parameters": {"session_required_policies": "a,b", "session_message": "m"}}')
    add(t, "action-provider", '{"code": "ConsentRequired", "required_scope": "s", "description": "d"}')
    add(t, "auth-dependent-consent", '{"error": "dependent_consent_required", "errors": [{"unapproved_scopes": ["x", "y"]}]}')
    for i, body in enumerate([
        "", "[]", "null", '{"code": "PermissionDenied"}', '{"code": "ConsentRequired"}',
        '{"authorization_parameters": {}}', '{"authorization_parameters": {"prompt": "none"}}',
        '{"code": "ConsentRequired", "required_scopes": [1]}',
        '{"error": "dependent_consent_required", "errors": []}', '{"errors": "x"}',
    ]):
        add(t, f"not-requirements-{i}", body)
    add(t, "injection", json.dumps({"code": "AuthorizationRequired", "authorization_parameters": {
        "session_message": "x&prompt=none&state=evil#frag", "prompt": "login",
        "required_scopes": ["openid&scope=evil", "a[b *c]"],
        "session_required_identities": ["a,b", "c&d=e"]}}))
    add(t, "bad-required-scope", json.dumps({"code": "ConsentRequired", "required_scopes": ["a[", "]b", "*"]}))
    add(t, "html", "<html><body>403 Forbidden</body></html>")
    add(t, "deep-nesting", '{"errors": ' + "[" * 2000)
    add(t, "invalid-utf8", b'{"code": "ConsentRequired", "required_scope": "\xff\xfe"}')
    add(t, "mfa-not-bool", '{"authorization_parameters": {"session_required_mfa": "yes", "session_message": "m"}}')


# ------------------------------------------------------------------ service errors
# the first byte picks core::fuzzing's RESPONSE_SHAPES: '2' 400, '3' 401, '4' 403,
# '5' 429 with Retry-After, '6' 502 text/html, '7' 503 with Retry-After, '0' 200
SERVICE_ERROR_SHAPES = {
    "auth_api.json": "3", "auth_oauth2.json": "2", "compute.json": "2",
    "compute_detail.json": "2", "empty.txt": "7", "flows.json": "4",
    "flows_validation.json": "2", "gare.json": "4", "gare_in_errors.json": "4",
    "groups.json": "4", "html_502.html": "6", "search.json": "2", "timers.json": "2",
    "timers_validation.json": "2", "token_truncated.json": "0", "transfer.json": "2",
    "transfer_consent_required.json": "4", "truncated.json": "7", "with_token.json": "3",
}


def service_errors():
    t = "service_error"
    fixtures = ROOT / "core/tests/fixtures/service_errors"
    for path in sorted(fixtures.iterdir()):
        shape = SERVICE_ERROR_SHAPES.get(path.name, "2")
        add(t, "fixture-" + path.name.rsplit(".", 1)[0], shape.encode() + path.read_bytes())
    add(t, "rate-limited", '5{"code": "RateLimited", "message": "slow down", "request_id": "r1"}')
    add(t, "deep-nesting", '2{"error": {"detail": ' + "[" * 2000)
    add(t, "invalid-utf8", b'4{"code": "\xff\xfe", "message": "\xc3"}')
    add(t, "control-chars", '2{"code": "A\nB", "message": "line 1\r\nline 2\u0000", "request_id": "x\ty"}')
    add(t, "odd-types", '2{"code": [1], "message": {}, "errors": [1, "x", {"code": 1.5e300, "loc": [null, {}, 2]}], "detail": [], "error": 7}')
    add(t, "token-in-message", '3{"message": "AgV8ab3Kq0JmYyZxQ9wP2sTuVn4eR7hL", "access_token": "AgV8ab3Kq0JmYyZxQ9wP2sTuVn4eR7hL"}')
    add(t, "token-in-html", "6<p>access_token=AgV8ab3Kq0JmYyZxQ9wP2sTuVn4eR7hL</p>")


# ------------------------------------------------------------------ redirects
def redirects():
    t = "redirect_request"
    state = "Y4qrhjyJYcDa-lKCXwmPlVyTYmkDfbYv"
    for label, target in [
        ("code-and-state", f"/?code=abc&state={state}"),
        ("callback-path", f"/callback?code=abc&state={state}"),
        ("another-login", "/?code=stolen&state=another-login"),
        ("no-state", "/?code=no-state"),
        ("denied-html-description", f"/?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E&state={state}"),
        ("denied-other-state", "/?error=access_denied&state=another-login"),
        ("favicon", "/favicon.ico"),
        ("no-query", "/"),
        ("plus-and-percent", "/?code=a+b%2Bc&state=%E2%9C%93&error_description=%FF%FE"),
        ("duplicate-params", "/?code=1&code=2&state=a&state=b"),
        ("long-code", "/?code=" + "AgV8" * 20 + f"&state={state}"),
    ]:
        add(t, label, f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n")
    add(t, "post", f"POST /?code=abc&state={state} HTTP/1.1\r\n\r\n")
    add(t, "lf-only", f"GET /?code=x&state={state} HTTP/1.1\nHost: a\n\n")
    add(t, "padding-header", f"GET /?code=abc&state={state} HTTP/1.1\r\nX-Padding: {'p' * 1000}\r\n\r\n")
    add(t, "double-space", "GET  / HTTP/1.1\r\n\r\n")
    add(t, "spdy", "GET / SPDY/3\r\n")
    add(t, "invalid-utf8", b"\xff\xfe / HTTP/1.1\r\n")
    add(t, "empty", "")
    add(t, "bare-query", f"code=abc&state={state}")
    add(t, "error-with-script", "GET /?error=%3Cscript%3Ealert(1)%3C/script%3E&error_description=%22%27%3E&state= HTTP/1.1\r\n\r\n")

    t = "redirect_pasted"
    for label, text in [
        ("auth-code-page", f"https://auth.globus.org/v2/web/auth-code?code=pasted-code&state={state}\n"),
        ("localhost-other-state", "http://localhost:1234/?code=secret-code&state=someone-else\n"),
        ("localhost-no-state", "http://localhost:1234/?code=c\n"),
        ("denied", f"http://localhost:1/?error=access_denied&error_description=No+thanks&state={state}\n"),
        ("bare-code", "  8gZKXuGhUwLdVcmWexDApm2Ca0Ujpx \n"),
        ("query-only", "code=abc&state=s"),
        ("fragment", "https://auth.globus.org/v2/web/auth-code?code=abc&state=s#frag"),
        ("two-words", "two words"),
        ("empty", ""),
        ("whitespace", " \n\t"),
        ("long-code", "A" * 600),
        ("long-code-512", "B" * 512),
        ("control-char", "abc\x07def"),
        ("unicode", "cödé✓"),
        ("question-mark-only", "?"),
        ("equals-only", "="),
        ("percent-invalid", "http://x/?code=%FF%FE&state=%"),
    ]:
        add(t, label, text)
    add(t, "invalid-utf8", b"\xff\xfecode")


# ------------------------------------------------------------------ id_tokens
def id_tokens():
    t = "id_token"
    good = {"sub": USER, "iss": ISSUER, "aud": CLIENT, "exp": NOW + 172800, "iat": NOW,
            "email": "u@example.org", "preferred_username": "u@globusid.org",
            "identity_set": [{"sub": USER, "email": "u@example.org", "name": "U"}]}
    add(t, "token-good", jwt(good))
    add(t, "token-test-helper", jwt({"sub": USER, "iss": ISSUER, "aud": "client", "exp": 2000, "iat": 1000},
                                    {"alg": "RS512", "typ": "JWT"}))
    add(t, "token-aud-list", jwt({**good, "aud": ["a", CLIENT]}))
    add(t, "token-padded", jwt(good).replace(".c2lnbmF0dXJl", "==.c2lnbmF0dXJl"))
    for i, bad in enumerate(["", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.x", "bnVsbA.e30.x", "e30.W10.x",
                             "e30.eyJzdWIiOjF9.x", "not-a-jwt"]):
        add(t, f"token-malformed-{i}", bad)
    # JSON claims: the entry point also wraps the input in a token
    add(t, "claims-good", json.dumps(good))
    add(t, "claims-extreme-times", json.dumps({**good, "exp": -(2**63), "iat": 2**63 - 1}))
    add(t, "claims-float-times", json.dumps({**good, "exp": 1.5e300, "iat": 1e-5}))
    add(t, "claims-missing-aud", json.dumps({k: v for k, v in good.items() if k != "aud"}))
    add(t, "claims-aud-number", json.dumps({**good, "aud": 5}))
    add(t, "claims-array", "[]")
    add(t, "claims-deep", '{"sub": ' + "[" * 300)
    add(t, "invalid-utf8", b"\xff\xfe.\xc3\x28.x")


# ------------------------------------------------------------------ JSON token files
def json_files():
    t = "json_token_file"
    for name in ["python-v1.json", "python-v2.json", "python-v2-extra.json"]:
        add(t, f"fixture-{name.removesuffix('.json')}", (ROOT / "storage/tests/fixtures" / name).read_bytes())
    v2 = '"format_version": "2.0", "globus-sdk.version": "4.10.0"'
    entry = {"resource_server": "rs", "identity_id": None, "scope": "s", "access_token": "AT",
             "refresh_token": None, "expires_at_seconds": 5, "token_type": "Bearer", "other": [1]}
    for label, body in [
        ("empty", b""),
        ("truncated", b'{"data": {"DEFAULT": {"a": {"access_token": "SECRET-A'),
        ("not-utf8", b'{"data": "\xff\xfe SECRET"}'),
        ("too-deep", b"[" * 200),
        ("array", b'["SECRET-A"]'),
        ("data-is-string", f'{{"data": "SECRET-A", {v2}}}'.encode()),
        ("data-missing", f"{{{v2}}}".encode()),
        ("v1-without-by-rs", b'{"format_version": "1.0", "data": {}}'),
        ("unknown-format", b'{"format_version": "3.0", "data": {"DEFAULT": {}}}'),
        ("format-number", b'{"format_version": 2, "data": {}}'),
        ("format-long", ('{"format_version": "' + "9" * 40 + '", "data": {}}').encode()),
        ("no-format", b'{"data": {"DEFAULT": {}}}'),
    ]:
        add(t, label, body)
    add(t, "namespace-not-object", f'{{"data": {{"DEFAULT": [1], "other": {{}}}}, {v2}}}')
    for field, value in [("access_token", 12), ("expires_at_seconds", "SECRETSECRETSECRETSECRET1"),
                         ("expires_at_seconds", 1.5), ("expires_at_seconds", 2**64 - 1),
                         ("refresh_token", ["SECRET-RT"]), ("identity_id", True)]:
        bad = dict(entry, **{field: value})
        add(t, f"entry-{field}-{type(value).__name__}", compact({"data": {"DEFAULT": {"rs": bad}},
                                                                  "format_version": "2.0"}))
    add(t, "entry-not-object", compact({"data": {"DEFAULT": {"rs": "AgV8SecretSecretSecretSecret0"}}, "format_version": "2.0"}))
    add(t, "entry-missing-scope", compact({"data": {"DEFAULT": {"rs": {k: v for k, v in entry.items() if k != "scope"}}},
                                           "format_version": "2.0"}))
    add(t, "unknown-top-level-keys", compact({"data": {"ns": {"rs": entry}}, "format_version": "2.0",
                                              "globus-sdk.version": 5, "by_rs": {}, "x-other": [1, {"a": None}]}))
    # numbers that serde_json's default float parser reads one unit off in the last
    # place: a store must write them back as they were
    add(t, "unknown-field-big-numbers", '{"data": {"DEFAULT": {"rs": {"resource_server": "rs", "scope": "s", '
        '"access_token": "AT", "expires_at_seconds": 1, "x": [188888888888888888888888888888888700000000, '
        '0.30000000000000004, 1.7976931348623157e308, 5e-324]}}}, "format_version": "2.0"}')
    # format 1.0 nested to the edge of serde_json's recursion limit: the upgrade to 2.0
    # on the next store adds a level ("data" -> namespace -> entries)
    deep = "[" * 124 + "]" * 124
    add(t, "v1-nested-near-limit", '{"by_rs": {"rs": {"resource_server": "rs", "scope": "s", "access_token": "AT", '
        '"expires_at_seconds": 1, "x": ' + deep + '}}, "format_version": "1.0"}')


# ------------------------------------------------------------------ SQLite rows
def sqlite_rows():
    t = "sqlite_row"
    for name in ["python.db", "python-extra.db", "python-legacy-v1.db"]:
        db = sqlite3.connect(ROOT / "storage/tests/fixtures" / name)
        try:
            rows = db.execute(
                "SELECT namespace, resource_server, token_data_json FROM token_storage "
                "ORDER BY namespace, resource_server").fetchall()
        finally:
            db.close()
        for namespace, resource_server, text in rows:
            add(t, f"fixture-{name.removesuffix('.db')}-{short_hash(namespace + resource_server)}", text)
    entry = {"resource_server": "transfer.api.globus.org", "scope": "s", "access_token": "AT",
             "expires_at_seconds": 5}
    add(t, "minimal", compact(entry))
    add(t, "extra-fields", compact({**entry, "identity_id": None, "refresh_token": None, "token_type": None,
                                    "future": {"nested": [1, "two", None, True, 2.5]}, "": {}}))
    for label, value in [("float", 1.5), ("u64", 2**64 - 1), ("i64-min", -(2**63)), ("string", "5")]:
        add(t, f"expires-{label}", compact({**entry, "expires_at_seconds": value}))
    add(t, "expires-exponent", compact(entry).replace('"expires_at_seconds":5', '"expires_at_seconds":1e3'))
    add(t, "access-token-number", compact({**entry, "access_token": 12}))
    add(t, "secret-in-wrong-type", compact({**entry, "access_token": "AgV8SecretSecretSecretSecret0", "scope": None}))
    add(t, "duplicate-keys", '{"access_token": "A", "access_token": 5, "scope": "s", "resource_server": "r", "expires_at_seconds": 1}')
    add(t, "string", '"AgV8SecretSecretSecretSecret0"')
    add(t, "not-json", "not json")
    add(t, "truncated", '{"access_token": "AgV8SecretSecretSecretSecret0')
    add(t, "empty", "")
    add(t, "deep", '{"x": ' + "[" * 300)
    add(t, "invalid-utf8", b'{"scope": "\xff"}')
    add(t, "extra-big-numbers", compact(entry).replace(
        "5}", '5,"x":[188888888888888888888888888888888700000000,0.30000000000000004,5e-324]}'))
    add(t, "huge-number", compact(entry).replace("5}", "1" + "0" * 400 + "}"))


scopes()
token_responses()
consents()
gares()
service_errors()
redirects()
id_tokens()
json_files()
sqlite_rows()

for target, files in sorted(seeds.items()):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("seed-*"):
        old.unlink()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    print(f"{target}: {len(files)} seeds")
