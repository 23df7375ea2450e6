//! The HTTP/1.1 subset the fake server speaks: reading one request from a stream and
//! writing one response. Bodies are framed by `Content-Length` (or chunked transfer
//! coding on requests); every malformed input becomes a [`WireError`], never a panic.

use std::fmt;
use std::io::{self, BufRead, Write};

/// Limits that keep a misbehaving client from exhausting memory.
const MAX_LINE: usize = 8 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_BODY: usize = 1024 * 1024;

/// One parsed HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The path part of the request target, still percent-encoded.
    pub(crate) path: String,
    /// The decoded query pairs, in order.
    pub(crate) query: Vec<(String, String)>,
    /// Header names lower-cased, values trimmed, in order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the client asked to keep the connection open after this exchange.
    pub(crate) keep_alive: bool,
}

impl Request {
    /// The first header with this (lower-case) name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum WireError {
    /// The connection failed or closed in the middle of a request.
    Io(io::Error),
    /// The bytes are not an HTTP/1.x request this server accepts; answer with this status.
    Malformed { status: u16, reason: &'static str },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "i/o error: {e}"),
            WireError::Malformed { status, reason } => write!(f, "{status}: {reason}"),
        }
    }
}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        WireError::Io(e)
    }
}

fn malformed(reason: &'static str) -> WireError {
    WireError::Malformed {
        status: 400,
        reason,
    }
}

/// Reads one line ending in `\n` (a preceding `\r` is removed). `Ok(None)` at a clean
/// end of stream before any byte.
pub(crate) fn read_line(reader: &mut impl BufRead) -> Result<Option<String>, WireError> {
    let mut line = Vec::new();
    loop {
        let available = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if available.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        let (consumed, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        line.extend_from_slice(&available[..consumed]);
        reader.consume(consumed);
        if line.len() > MAX_LINE {
            return Err(WireError::Malformed {
                status: 431,
                reason: "request line or header line too long",
            });
        }
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return String::from_utf8(line)
                .map(Some)
                .map_err(|_| malformed("request line or header is not UTF-8"));
        }
    }
}

/// Reads the next request. `Ok(None)` means the client closed the connection cleanly
/// between requests.
pub(crate) fn read_request(reader: &mut impl BufRead) -> Result<Option<Request>, WireError> {
    // RFC 9112 2.2: ignore at least one empty line before the request line.
    let request_line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("request line must be METHOD TARGET VERSION"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(malformed("bad method"));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => {
            return Err(WireError::Malformed {
                status: 505,
                reason: "only HTTP/1.0 and HTTP/1.1 are supported",
            });
        }
    };
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(malformed("request target must be an origin-form path"));
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    };
    let query = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();

    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(reader)? else {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        };
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(WireError::Malformed {
                status: 431,
                reason: "too many headers",
            });
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed("header line without a colon"));
        };
        if name.is_empty() || name.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(malformed("bad header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }

    let find = |name: &str| -> Vec<&str> {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let connection: Vec<String> = find("connection")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let keep_alive = if http11 {
        !connection.iter().any(|t| t == "close")
    } else {
        connection.iter().any(|t| t == "keep-alive")
    };

    let transfer_encoding = find("transfer-encoding");
    let content_length = find("content-length");
    let body = if !transfer_encoding.is_empty() {
        if !content_length.is_empty() {
            return Err(malformed("both Transfer-Encoding and Content-Length"));
        }
        let codings: Vec<String> = transfer_encoding
            .iter()
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect();
        if codings != ["chunked"] {
            return Err(WireError::Malformed {
                status: 501,
                reason: "only the chunked transfer coding is supported",
            });
        }
        read_chunked(reader)?
    } else if !content_length.is_empty() {
        let first = content_length[0];
        if content_length.iter().any(|v| *v != first) {
            return Err(malformed("conflicting Content-Length headers"));
        }
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("bad Content-Length"));
        }
        let len: usize = first.parse().map_err(|_| WireError::Malformed {
            status: 413,
            reason: "body too large",
        })?;
        if len > MAX_BODY {
            return Err(WireError::Malformed {
                status: 413,
                reason: "body too large",
            });
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        body
    } else {
        Vec::new()
    };

    Ok(Some(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        body,
        keep_alive,
    }))
}

pub(crate) fn read_chunked(reader: &mut impl BufRead) -> Result<Vec<u8>, WireError> {
    let mut body = Vec::new();
    loop {
        let Some(line) = read_line(reader)? else {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        };
        let size = line.split(';').next().unwrap_or("").trim();
        if size.is_empty() || size.len() > 8 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("bad chunk size"));
        }
        let size = usize::from_str_radix(size, 16).map_err(|_| malformed("bad chunk size"))?;
        if size == 0 {
            // trailers, up to the empty line
            loop {
                match read_line(reader)? {
                    None => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                    Some(l) if l.is_empty() => return Ok(body),
                    Some(_) => {}
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(WireError::Malformed {
                status: 413,
                reason: "body too large",
            });
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        match read_line(reader)? {
            Some(l) if l.is_empty() => {}
            _ => return Err(malformed("chunk not followed by CRLF")),
        }
    }
}

/// One response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Claims of an id_token still to be signed and added to the JSON body as
    /// `id_token` (done by [`Response::sign_id_token`] outside the state lock).
    pub(crate) id_token_claims: Option<serde_json::Value>,
}

impl Response {
    pub(crate) fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
            id_token_claims: None,
        }
    }

    /// Signs the pending id_token claims, if any, and adds the JWT to the JSON body.
    pub(crate) fn sign_id_token(&mut self) {
        let Some(claims) = self.id_token_claims.take() else {
            return;
        };
        if let Ok(mut body) = serde_json::from_slice::<serde_json::Value>(&self.body) {
            body["id_token"] = serde_json::Value::String(crate::jwt::encode(&claims));
            self.body = body.to_string().into_bytes();
        }
    }

    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Response::new(status, "application/json", value.to_string())
    }

    pub(crate) fn html(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Response::new(status, "text/html; charset=utf-8", body)
    }

    pub(crate) fn redirect(location: &str) -> Self {
        let mut response = Response::html(302, "");
        response.set_header("Location", location);
        response
    }

    pub(crate) fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    /// Writes the response. `declared_length` overrides `Content-Length` (to send a
    /// short body on purpose); `keep_alive` picks the `Connection` header.
    pub(crate) fn write_to(
        &self,
        out: &mut impl Write,
        keep_alive: bool,
        declared_length: Option<usize>,
    ) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        for (name, value) in &self.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        let length = declared_length.unwrap_or(self.body.len());
        head.push_str(&format!("Content-Length: {length}\r\n"));
        head.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        out.write_all(&bytes)?;
        out.flush()
    }
}

/// The standard reason phrase of a status code.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Option<Request>, WireError> {
        read_request(&mut io::BufReader::new(bytes))
    }

    fn status_of(bytes: &[u8]) -> u16 {
        match parse(bytes) {
            Err(WireError::Malformed { status, .. }) => status,
            other => panic!("expected a malformed-request error, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_get_with_query() {
        let req = parse(
            b"GET /v2/oauth2/authorize?a=1&scope=openid+email&x=%2F HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .expect("parses")
        .expect("a request");
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/v2/oauth2/authorize");
        assert_eq!(
            req.query,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("scope".to_owned(), "openid email".to_owned()),
                ("x".to_owned(), "/".to_owned())
            ]
        );
        assert_eq!(req.header("host"), Some("x"));
        assert!(req.keep_alive);
        assert!(req.body.is_empty());
    }

    #[test]
    fn parses_a_post_with_body_and_two_requests_in_a_row() {
        let bytes = b"POST /t HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /u HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut reader = io::BufReader::new(&bytes[..]);
        let first = read_request(&mut reader).expect("ok").expect("some");
        assert_eq!(first.body, b"abc");
        let second = read_request(&mut reader).expect("ok").expect("some");
        assert_eq!(second.path, "/u");
        assert!(!second.keep_alive);
        assert!(read_request(&mut reader).expect("ok").is_none());
    }

    #[test]
    fn parses_chunked_bodies() {
        let req = parse(b"POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n")
            .expect("ok")
            .expect("some");
        assert_eq!(req.body, b"abcde");
    }

    #[test]
    fn http10_closes_by_default() {
        let req = parse(b"GET / HTTP/1.0\r\n\r\n").expect("ok").expect("some");
        assert!(!req.keep_alive);
        let req = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .expect("ok")
            .expect("some");
        assert!(req.keep_alive);
    }

    #[test]
    fn empty_stream_is_a_clean_close() {
        assert!(parse(b"").expect("ok").is_none());
        assert!(parse(b"\r\n\r\n").expect("ok").is_none());
    }

    #[test]
    fn rejects_malformed_requests() {
        assert_eq!(status_of(b"GET\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / HTTP/1.1 extra\r\n\r\n"), 400);
        assert_eq!(status_of(b"get / HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(status_of(b"GET http://x/ HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
        assert_eq!(status_of(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"), 400);
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            413
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"),
            413
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            501
        );
        assert_eq!(
            status_of(
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"
            ),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            400
        );
        assert_eq!(
            status_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n"),
            400
        );
        assert_eq!(status_of(b"GET /\xff HTTP/1.1\r\n\r\n"), 400);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE + 10));
        assert_eq!(status_of(long.as_bytes()), 431);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("H{i}: v\r\n")).collect();
        assert_eq!(
            status_of(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            431
        );
    }

    #[test]
    fn truncated_requests_are_io_errors() {
        for bytes in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n"[..],
            b"GET / HTTP/1.1",
            b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        ] {
            assert!(matches!(parse(bytes), Err(WireError::Io(_))), "{bytes:?}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic fuzz: every prefix and some byte flips of a valid request.
        let valid = b"POST /v2/oauth2/token?x=%zz HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        for end in 0..valid.len() {
            let _ = parse(&valid[..end]);
            for flip in [0u8, b'\r', b'\n', b':', b' ', 0xff] {
                let mut bytes = valid.to_vec();
                bytes[end] = flip;
                let _ = parse(&bytes);
            }
        }
    }

    #[test]
    fn writes_responses() {
        let mut out = Vec::new();
        let mut response = Response::json(200, &serde_json::json!({"a": 1}));
        response.set_header("Cache-Control", "no-store");
        response.write_to(&mut out, true, None).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Content-Type: application/json\r\n"));
        assert!(text.contains("Content-Length: 7\r\n"));
        assert!(text.contains("Connection: keep-alive\r\n"));
        assert!(text.ends_with("\r\n\r\n{\"a\":1}"));

        let mut out = Vec::new();
        Response::html(502, "<p>")
            .write_to(&mut out, false, Some(100))
            .expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("Content-Length: 100\r\n"));
        assert!(text.contains("Connection: close\r\n"));
    }
}
