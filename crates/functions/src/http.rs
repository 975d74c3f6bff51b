//! Plain HTTP for HTTP functions and `http:invoke`: one blocking request with `ureq` (no TLS),
//! a bounded response, and URL and form encoding.

use std::io::Read;
use std::time::Duration;
use ureq::http;

/// An answer, whatever its status.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status code.
    pub status: u16,
    /// The status's reason phrase (`OK`, `Not Found`).
    pub reason: String,
    /// The response headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, at most the limit asked for plus one byte.
    pub body: Vec<u8>,
    /// Whether the body was longer than the limit (and is cut).
    pub too_large: bool,
}

/// Why no answer came.
#[derive(Debug)]
pub(crate) enum Failed {
    /// The time limit passed.
    Timeout,
    /// No connection (refused, unreachable, unknown host, reset).
    Connect(String),
    /// Anything else (a malformed request or answer).
    Other(String),
}

/// One request to send.
pub(crate) struct Request<'r> {
    /// `GET`, `POST`, ...
    pub method: &'r str,
    /// The `http://` URL, query included.
    pub url: &'r str,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// The whole exchange must end within this.
    pub timeout: Duration,
    /// Read at most this many body bytes.
    pub limit: u64,
}

/// Sends `request` and reads the answer, whatever its status.
pub(crate) fn send(request: Request<'_>) -> Result<Reply, Failed> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(request.timeout))
        .max_redirects(0)
        .user_agent(format!("weir/{}", env!("CARGO_PKG_VERSION")))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let mut builder = http::Request::builder()
        .method(request.method)
        .uri(request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let answer = match request.body {
        Some(body) => builder
            .body(body)
            .map_err(|e| Failed::Other(e.to_string()))
            .and_then(|r| agent.run(r).map_err(failed)),
        None => builder
            .body(())
            .map_err(|e| Failed::Other(e.to_string()))
            .and_then(|r| agent.run(r).map_err(failed)),
    }?;
    let status = answer.status();
    let headers = answer
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    answer
        .into_body()
        .into_reader()
        .take(request.limit + 1)
        .read_to_end(&mut body)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut {
                Failed::Timeout
            } else {
                Failed::Other(format!("cannot read the response body: {e}"))
            }
        })?;
    let too_large = body.len() as u64 > request.limit;
    Ok(Reply {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or_default().to_string(),
        headers,
        body,
        too_large,
    })
}

fn failed(error: ureq::Error) -> Failed {
    match error {
        ureq::Error::Timeout(_) => Failed::Timeout,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => Failed::Timeout,
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            Failed::Connect(error.to_string())
        }
        other => Failed::Other(other.to_string()),
    }
}

/// Checks that `url` is an `http://` URL with a host.
pub(crate) fn check_http_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("it must start with http://".to_string());
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("it has no host".to_string());
    }
    Ok(())
}

/// Checks one header: a valid name, a value without line breaks, and not one the HTTP layer
/// writes itself.
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), String> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("has an invalid header name '{name}'"));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(format!(
            "header '{name}' has a value that is not valid in HTTP"
        ));
    }
    let lower = name.to_ascii_lowercase();
    if ["host", "content-length", "transfer-encoding", "connection"].contains(&lower.as_str()) {
        return Err(format!(
            "header '{name}' is set by weir's HTTP layer and cannot be given"
        ));
    }
    Ok(())
}

/// Percent-encodes `text` for a query string or a form body (RFC 3986 unreserved characters
/// stay; the rest is `%XX` of its UTF-8 bytes). `keep` lists more characters that stay.
pub(crate) fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_plain_http_with_a_host() {
        assert!(check_http_url("http://127.0.0.1:8080/f").is_ok());
        assert!(check_http_url("https://example.com/").is_err());
        assert!(check_http_url("ftp://example.com/").is_err());
        assert!(check_http_url("/relative").is_err());
    }

    #[test]
    fn headers_written_by_the_http_layer_are_refused() {
        assert!(check_header("X-Token", "abc").is_ok());
        assert!(check_header("Host", "x").is_err());
        assert!(check_header("bad name", "x").is_err());
        assert!(check_header("X-A", "line\nbreak").is_err());
    }

    #[test]
    fn percent_encoding_keeps_unreserved_characters() {
        assert_eq!(percent_encode("a b&c=d/é~", b""), "a%20b%26c%3Dd%2F%C3%A9~");
        assert_eq!(percent_encode("k[0]", b"[]"), "k[0]");
    }
}
