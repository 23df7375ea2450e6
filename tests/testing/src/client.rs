//! A tiny blocking HTTP/1.1 client over `std::net`, for doctests, examples and a test's
//! "browser" (follow the authorize URL and its redirects) without an HTTP-client
//! dependency. Plain `http://` only; one connection per request (`Connection: close`).

use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::wire::{self, WireError};

/// How long [`request`] waits for a connection, a read or a write before giving up.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A response read by this client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The URL this response answered.
    pub url: String,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The `Location` header of a redirect, resolved against the request URL.
    pub fn location(&self) -> Option<String> {
        let location = self.header("location")?;
        let base = url::Url::parse(&self.url).ok()?;
        base.join(location).ok().map(String::from)
    }

    /// The decoded query parameters of the `Location` header.
    pub fn location_query(&self) -> Vec<(String, String)> {
        self.location()
            .and_then(|l| url::Url::parse(&l).ok())
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Sends one request and reads the whole response.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let parsed = url::Url::parse(url).map_err(|e| invalid(format!("bad URL {url}: {e}")))?;
    if parsed.scheme() != "http" {
        return Err(invalid("this client speaks plain http:// only"));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| invalid("URL without host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addrs = std::net::ToSocketAddrs::to_socket_addrs(&(host.trim_matches(['[', ']']), port))?;
    let mut last_error = invalid("no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = e,
        }
    }
    let mut stream = stream.ok_or(last_error)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;

    let mut target = parsed.path().to_owned();
    if let Some(query) = parsed.query() {
        target.push('?');
        target.push_str(query);
    }
    let host_header = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes)?;
    stream.flush()?;

    let mut reader = BufReader::new(stream);
    read_response(&mut reader, url)
}

fn wire_error(e: WireError) -> io::Error {
    match e {
        WireError::Io(e) => e,
        WireError::Malformed { reason, .. } => invalid(reason),
    }
}

fn read_response(reader: &mut BufReader<TcpStream>, url: &str) -> io::Result<Response> {
    let status_line = wire::read_line(reader)
        .map_err(wire_error)?
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed without a response",
            )
        })?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| invalid(format!("bad status line: {status_line}")))?;
    let mut headers = Vec::new();
    loop {
        let line = wire::read_line(reader)
            .map_err(wire_error)?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("header without a colon"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        wire::read_chunked(reader).map_err(wire_error)?
    } else if let Some(length) = find("content-length") {
        let length: usize = length.parse().map_err(|_| invalid("bad Content-Length"))?;
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        body
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body)?;
        body
    };
    Ok(Response {
        status,
        headers,
        body,
        url: url.to_owned(),
    })
}

/// `GET url`.
pub fn get(url: &str) -> io::Result<Response> {
    request("GET", url, &[], &[])
}

/// `GET url` with `Authorization: Bearer {token}`.
pub fn get_with_bearer(url: &str, token: &str) -> io::Result<Response> {
    let auth = format!("Bearer {token}");
    request("GET", url, &[("Authorization", &auth)], &[])
}

/// `POST url` with a form body, and HTTP Basic credentials when `basic` is given.
pub fn post_form(
    url: &str,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> io::Result<Response> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let auth =
        basic.map(|(id, secret)| format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))));
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    request("POST", url, &headers, body.as_bytes())
}

/// What a browser does with a link: `GET` it and follow `http://` redirects (at most
/// 10). Returns every response, the last one first-class: `responses.last()`.
///
/// Used as a test's "browser" for the local-server login flow: the authorize URL
/// redirects to the app's loopback listener, which this then calls.
pub fn browse(url: &str) -> io::Result<Vec<Response>> {
    let mut responses = Vec::new();
    let mut next = url.to_owned();
    for _ in 0..=10 {
        let response = get(&next)?;
        let location = if (300..400).contains(&response.status) {
            response.location()
        } else {
            None
        };
        responses.push(response);
        match location {
            Some(location) if location.starts_with("http://") => next = location,
            _ => return Ok(responses),
        }
    }
    Err(invalid("more than 10 redirects"))
}

/// The authorization code and state in a redirect to the app (`?code=...&state=...`),
/// from a response's `Location` header.
pub fn code_from_redirect(response: &Response) -> Option<(String, Option<String>)> {
    let query = response.location_query();
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    Some((get("code")?, get("state")))
}
