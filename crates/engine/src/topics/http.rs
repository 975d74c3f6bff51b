//! The smallest HTTP client notifications need: one `POST` over plain HTTP/1.1 on a fresh
//! connection (`Connection: close`), answered by its status code alone. The engine has no HTTP
//! library and needs no more: SNS judges an HTTP delivery by its status.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest status line read.
const STATUS_LINE_LIMIT: usize = 8 * 1024;

/// Why no status came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failed {
    /// Nothing answered within the time limit.
    Timeout,
    /// No connection, or it broke.
    Connection(String),
    /// The answer is not HTTP.
    Protocol(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Timeout => write!(f, "no answer in time"),
            Failed::Connection(detail) => write!(f, "connection failed: {detail}"),
            Failed::Protocol(detail) => write!(f, "not an HTTP answer: {detail}"),
        }
    }
}

/// The host-and-port and the path (with its query) of an `http://` URL, or why it is not one.
pub(crate) fn split_url(url: &str) -> Result<(String, String), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            "https:// endpoints are not supported: weir has no TLS yet".to_string()
        } else {
            "it must start with http://".to_string()
        });
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => (&rest[..at], rest[at..].to_string()),
        Some(at) => (&rest[..at], format!("/{}", &rest[at..])),
        None => (rest, "/".to_string()),
    };
    if authority.is_empty() || authority.contains('@') || authority.chars().any(char::is_whitespace)
    {
        return Err("it has no valid host".to_string());
    }
    let has_port = match authority.strip_prefix('[') {
        Some(v6) => v6
            .split_once(']')
            .is_some_and(|(_, rest)| rest.starts_with(':')),
        None => authority.contains(':'),
    };
    let authority = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path))
}

/// POSTs `body` to `url` with `headers` and returns the answer's status code.
pub(crate) async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> Result<u16, Failed> {
    let (authority, path) = split_url(url).map_err(Failed::Protocol)?;
    let host = authority.strip_suffix(":80").unwrap_or(&authority);
    let exchange = async {
        let mut stream = TcpStream::connect(authority.as_str())
            .await
            .map_err(|e| Failed::Connection(e.to_string()))?;
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| Failed::Connection(e.to_string()))?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 1024];
        while !answer.windows(2).any(|w| w == b"\r\n") {
            if answer.len() > STATUS_LINE_LIMIT {
                return Err(Failed::Protocol("the status line is too long".to_string()));
            }
            let read = stream
                .read(&mut chunk)
                .await
                .map_err(|e| Failed::Connection(e.to_string()))?;
            if read == 0 {
                return Err(Failed::Connection(
                    "the endpoint closed the connection without answering".to_string(),
                ));
            }
            answer.extend_from_slice(&chunk[..read]);
        }
        let line = String::from_utf8_lossy(&answer);
        let mut parts = line.split_whitespace();
        match (
            parts.next(),
            parts.next().and_then(|s| s.parse::<u16>().ok()),
        ) {
            (Some(version), Some(status)) if version.starts_with("HTTP/") => Ok(status),
            _ => Err(Failed::Protocol(
                line.lines().next().unwrap_or_default().to_string(),
            )),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| Failed::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:9000/hook?x=1"),
            Ok(("127.0.0.1:9000".to_string(), "/hook?x=1".to_string()))
        );
        assert_eq!(
            split_url("http://example.com"),
            Ok(("example.com:80".to_string(), "/".to_string()))
        );
        assert_eq!(
            split_url("http://example.com?x=1"),
            Ok(("example.com:80".to_string(), "/?x=1".to_string()))
        );
        assert_eq!(
            split_url("http://[::1]:8080/a"),
            Ok(("[::1]:8080".to_string(), "/a".to_string()))
        );
        assert_eq!(
            split_url("http://[::1]/a"),
            Ok(("[::1]:80".to_string(), "/a".to_string()))
        );
        assert!(split_url("https://example.com/").is_err());
        assert!(split_url("ftp://example.com/").is_err());
        assert!(split_url("http:///path").is_err());
    }
}
