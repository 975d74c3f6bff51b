//! AWS Signature Version 4 verification of incoming requests.
//!
//! When access keys are configured, weir refuses a request unless its
//! `Authorization` header carries a valid `AWS4-HMAC-SHA256` signature, made
//! with a configured key, within [`MAX_SKEW`] of the server's clock. This is
//! the header form that boto3, the AWS CLI and the AWS SDKs send. Presigned
//! URLs (signature in the query string) are not supported.
//!
//! The module is pure: no I/O and no clock. The caller passes the request as
//! received and the current time; [`verify`] returns who signed it and the
//! credential scope (region and service), or the error AWS would return.
//!
//! # Design notes
//!
//! Checks run in the order AWS's JSON-protocol front end (the one Step
//! Functions and DynamoDB share) runs them, so a client sees the same error
//! AWS would give it:
//!
//! 1. no `Authorization` header, or one that is not `AWS4-…`:
//!    `MissingAuthenticationTokenException`;
//! 2. a part that is not `key=value`, a missing `Credential`, `Signature` or
//!    `SignedHeaders`, no `X-Amz-Date` or `Date` header, a date not in ISO 8601
//!    basic format: `IncompleteSignatureException`;
//! 3. a request time more than [`MAX_SKEW`] away from `now`, either way:
//!    `InvalidSignatureException`;
//! 4. `host` not among `SignedHeaders`: `InvalidSignatureException`;
//! 5. an algorithm other than `AWS4-HMAC-SHA256`, a credential without exactly
//!    five `/`-separated elements: `IncompleteSignatureException`;
//! 6. a credential scope whose date is not the request's date, whose
//!    terminator is not `aws4_request`, or whose region or service is empty:
//!    `InvalidSignatureException`;
//! 7. an access key id that is not configured: `UnrecognizedClientException`;
//! 8. an `X-Amz-Content-Sha256` header that is not the body's SHA-256, a header
//!    named in `SignedHeaders` but absent, a signature that does not match:
//!    `InvalidSignatureException`.
//!
//! The canonical request follows AWS's specification for services other than
//! S3:
//!
//! - the URI path is normalized (empty and `.` segments dropped, `..` removes
//!   the previous segment; a trailing `/` is kept) and then percent-encoded
//!   once more. The path arrives already encoded once by the client, so this
//!   is AWS's "double encoding"; botocore and the other SDKs do the same.
//! - query parameters are percent-decoded, re-encoded with AWS's strict
//!   encoding (everything but `A-Z a-z 0-9 - . _ ~` becomes `%XX`; `+` is a
//!   literal plus, not a space), and sorted by name, then value.
//! - the signed headers are lowercased and sorted; each value has its
//!   surrounding whitespace removed and inner runs of whitespace collapsed to
//!   one space; repeated headers are joined with `,` in the order received.
//! - the payload hash is always the SHA-256 of the body received. A client's
//!   `X-Amz-Content-Sha256` must equal it: `UNSIGNED-PAYLOAD` and streaming
//!   payloads are refused, so the body is always covered by the signature.
//!
//! The signature is compared in constant time (`hmac`'s `verify_slice`).
//!
//! `X-Amz-Security-Token` is accepted and, like any signed header, covered by
//! the signature; weir has no temporary credentials, so it is not checked
//! further.
//!
//! All errors use HTTP status 400, as AWS's JSON-protocol services do for
//! these four error codes (the generic "Common Errors" pages list 403 for the
//! query-protocol names `MissingAuthenticationToken` and
//! `InvalidClientTokenId`, which Step Functions does not use).

use std::collections::HashMap;
use std::fmt;

use hmac::{Hmac, Mac};
use jiff::fmt::rfc2822::DateTimeParser;
use jiff::{SignedDuration, Timestamp, civil, tz::Offset};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How far a request's time may lie from the server's clock, either way.
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// The only signing algorithm accepted.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The last element of every credential scope.
const TERMINATOR: &str = "aws4_request";

/// ISO 8601 basic format, as in `X-Amz-Date: 20150830T123600Z`.
const ISO8601_BASIC: &str = "%Y%m%dT%H%M%SZ";

/// AWS's message for a signature that does not match.
const MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature \
     you provided. Check your AWS Secret Access Key and signing method. Consult the service \
     documentation for details.";

/// The access keys weir accepts: access key id to secret access key.
///
/// `Debug` shows the access key ids only, never a secret.
#[derive(Clone, Default)]
pub struct Keys(HashMap<String, String>);

impl Keys {
    /// An empty set of keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key, replacing any secret already held for `access_key`.
    pub fn insert(&mut self, access_key: impl Into<String>, secret: impl Into<String>) {
        self.0.insert(access_key.into(), secret.into());
    }

    /// True when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn secret(&self, access_key: &str) -> Option<&str> {
        self.0.get(access_key).map(String::as_str)
    }
}

impl<K: Into<String>, S: Into<String>> FromIterator<(K, S)> for Keys {
    fn from_iter<I: IntoIterator<Item = (K, S)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(key, secret)| (key.into(), secret.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<&str> = self.0.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_tuple("Keys").field(&ids).finish()
    }
}

/// An incoming request, as received, to verify.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The raw path as received, still percent-encoded, e.g. `/`.
    pub path: &'a str,
    /// The raw query string without the `?`; empty when there is none.
    pub query: &'a str,
    /// Every header as a (name, value) pair, in the order received; names in
    /// any case, repeated names allowed. It MUST include `Host`: for HTTP/2,
    /// pass the `:authority` as `host`.
    pub headers: &'a [(String, String)],
    /// The complete body.
    pub body: &'a [u8],
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id that signed the request.
    pub access_key: String,
    /// The region from the credential scope, e.g. `us-east-1`.
    pub region: String,
    /// The service from the credential scope, e.g. `states`.
    pub service: String,
}

/// Why a request was refused. [`SigError::code`], [`SigError::http_status`]
/// and `Display` give the error code, status and message AWS would return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// There is no `Authorization` header, or it is not AWS Signature
    /// Version 4.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    /// The `Authorization` header or the request date is malformed; `detail`
    /// says which part, in AWS's words.
    #[error("{detail}")]
    IncompleteSignature {
        /// AWS's message, naming what is missing or malformed.
        detail: String,
    },
    /// The access key id is not configured.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient {
        /// The access key id the request named.
        access_key: String,
    },
    /// The credential scope does not fit the request: its date is not the
    /// request's date, its terminator is not `aws4_request`, or its region or
    /// service is empty.
    #[error("{detail}")]
    InvalidScope {
        /// AWS's message, one sentence per problem.
        detail: String,
    },
    /// The request was signed more than [`MAX_SKEW`] before `now`.
    #[error(
        "Signature expired: {} is now earlier than {} ({} - {} min.)",
        iso8601(*signed_at),
        iso8601(now.checked_sub(MAX_SKEW).unwrap_or(Timestamp::MIN)),
        iso8601(*now),
        MAX_SKEW.as_secs() / 60
    )]
    Expired {
        /// The request time (`X-Amz-Date` or `Date`).
        signed_at: Timestamp,
        /// The server's time.
        now: Timestamp,
    },
    /// The request was signed more than [`MAX_SKEW`] after `now`.
    #[error(
        "Signature not yet current: {} is still later than {} ({} + {} min.)",
        iso8601(*signed_at),
        iso8601(now.checked_add(MAX_SKEW).unwrap_or(Timestamp::MAX)),
        iso8601(*now),
        MAX_SKEW.as_secs() / 60
    )]
    NotYetCurrent {
        /// The request time (`X-Amz-Date` or `Date`).
        signed_at: Timestamp,
        /// The server's time.
        now: Timestamp,
    },
    /// `host` is not among the `SignedHeaders`.
    #[error("'Host' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    /// A header named in `SignedHeaders` is not in the request.
    #[error("Header '{header}' is listed in 'SignedHeaders' but is missing from the request.")]
    SignedHeaderMissing {
        /// The lowercase header name.
        header: String,
    },
    /// `X-Amz-Content-Sha256` is not the SHA-256 of the body received.
    #[error(
        "The provided 'x-amz-content-sha256' header does not match what was computed. \
         Provided: '{provided}', computed from the body: '{computed}'."
    )]
    ContentSha256Mismatch {
        /// The header's value.
        provided: String,
        /// The hex SHA-256 of the body received.
        computed: String,
    },
    /// The signature does not match the one computed for the request. The
    /// message shows the server's canonical request and string to sign, as
    /// AWS's does, so a client can find where its signer differs.
    #[error(
        "{MISMATCH_MESSAGE}\n\nThe Canonical String for this request should have \
         been\n'{canonical_request}'\n\nThe String-to-Sign should have \
         been\n'{string_to_sign}'\n"
    )]
    SignatureMismatch {
        /// The canonical request the server signed.
        canonical_request: String,
        /// The string to sign the server computed.
        string_to_sign: String,
    },
}

impl SigError {
    /// The error code AWS returns (the JSON `__type`), e.g.
    /// `InvalidSignatureException`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::IncompleteSignature { .. } => "IncompleteSignatureException",
            Self::UnrecognizedClient { .. } => "UnrecognizedClientException",
            Self::InvalidScope { .. }
            | Self::Expired { .. }
            | Self::NotYetCurrent { .. }
            | Self::HostNotSigned
            | Self::SignedHeaderMissing { .. }
            | Self::ContentSha256Mismatch { .. }
            | Self::SignatureMismatch { .. } => "InvalidSignatureException",
        }
    }

    /// The HTTP status AWS's JSON-protocol services use: 400 for all of them.
    pub fn http_status(&self) -> u16 {
        400
    }
}

/// `20150830T123600Z`.
fn iso8601(timestamp: Timestamp) -> String {
    timestamp.strftime(ISO8601_BASIC).to_string()
}

/// Verifies the AWS Signature Version 4 of `request` against `keys` at time
/// `now`, and returns the access key and credential scope that signed it.
///
/// Any region and service are accepted; the caller may check the returned
/// scope. See the module documentation for the order of checks.
pub fn verify(
    request: &SignedRequest<'_>,
    keys: &Keys,
    now: Timestamp,
) -> Result<Verified, SigError> {
    let headers = request.headers;
    let authorization = first_header(headers, "authorization")
        .map(str::trim)
        .filter(|value| value.starts_with("AWS4-"))
        .ok_or(SigError::MissingAuthenticationToken)?;
    let auth = parse_authorization(authorization)?;

    let amz_date = first_header(headers, "x-amz-date");
    let raw_date = amz_date.or_else(|| first_header(headers, "date"));
    let mut missing = String::new();
    for (name, value) in [
        ("Credential", auth.credential),
        ("Signature", auth.signature),
        ("SignedHeaders", auth.signed_headers),
    ] {
        if value.is_none() {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if raw_date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header. ",
        );
    }
    let (Some(credential), Some(signature), Some(signed_headers), Some(raw_date)) = (
        auth.credential,
        auth.signature,
        auth.signed_headers,
        raw_date,
    ) else {
        return Err(SigError::IncompleteSignature {
            detail: format!("{missing}Authorization={authorization}"),
        });
    };

    let raw_date = raw_date.trim();
    let signed_at = if amz_date.is_some() {
        parse_iso8601_basic(raw_date)
    } else {
        parse_iso8601_basic(raw_date).or_else(|| parse_http_date(raw_date))
    }
    .ok_or_else(|| SigError::IncompleteSignature {
        detail: format!(
            "Date must be in ISO-8601 'basic format'. Got '{raw_date}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        ),
    })?;
    if now.duration_since(signed_at) > MAX_SKEW {
        return Err(SigError::Expired { signed_at, now });
    }
    if signed_at.duration_since(now) > MAX_SKEW {
        return Err(SigError::NotYetCurrent { signed_at, now });
    }

    let mut signed_names: Vec<String> = signed_headers
        .split(';')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    signed_names.sort_unstable();
    signed_names.dedup();
    if !signed_names.iter().any(|name| name == "host") {
        return Err(SigError::HostNotSigned);
    }

    if auth.algorithm != ALGORITHM {
        return Err(SigError::IncompleteSignature {
            detail: format!(
                "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now).",
                auth.algorithm
            ),
        });
    }
    let elements: Vec<&str> = credential.trim_end_matches('/').split('/').collect();
    let [access_key, scope_date, region, service, terminator] = elements[..] else {
        return Err(SigError::IncompleteSignature {
            detail: format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{credential}'"
            ),
        });
    };

    let request_time = iso8601(signed_at);
    let request_day = &request_time[..8];
    let mut problems = Vec::new();
    if region.is_empty() {
        problems.push("Credential should be scoped to a valid region, not ''.".to_owned());
    }
    if service.is_empty() {
        problems.push("Credential should be scoped to a valid service, not ''.".to_owned());
    }
    if terminator != TERMINATOR {
        problems.push(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not \
             '{terminator}'."
        ));
    }
    if scope_date != request_day {
        problems.push(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{scope_date}' != '{request_day}', from '{request_time}'."
        ));
    }
    if !problems.is_empty() {
        return Err(SigError::InvalidScope {
            detail: problems.join(" "),
        });
    }

    let secret = keys
        .secret(access_key)
        .ok_or_else(|| SigError::UnrecognizedClient {
            access_key: access_key.to_owned(),
        })?;

    let body_hash = hex::encode(Sha256::digest(request.body));
    if let Some(provided) = first_header(headers, "x-amz-content-sha256") {
        let provided = provided.trim();
        if !provided.eq_ignore_ascii_case(&body_hash) {
            return Err(SigError::ContentSha256Mismatch {
                provided: provided.to_owned(),
                computed: body_hash,
            });
        }
    }

    let canonical_request = canonical_request(request, &signed_names, &body_hash)?;
    let scope = Scope {
        request_time: &request_time,
        date: scope_date,
        region,
        service,
    };
    let string_to_sign = scope.string_to_sign(&canonical_request);
    let mut mac = new_mac(&scope.signing_key(secret));
    mac.update(string_to_sign.as_bytes());
    let matches = hex::decode(signature).is_ok_and(|provided| mac.verify_slice(&provided).is_ok());
    if !matches {
        return Err(SigError::SignatureMismatch {
            canonical_request,
            string_to_sign,
        });
    }
    Ok(Verified {
        access_key: access_key.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    })
}

/// Signs `request` as an AWS client does and returns the `Authorization` header value. The
/// request's headers must already hold `host` and `x-amz-date` (`now` in ISO 8601 basic form,
/// see [`amz_date`]); every header given is signed.
pub fn sign(
    request: &SignedRequest<'_>,
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
    now: Timestamp,
) -> String {
    let request_time = iso8601(now);
    let scope_date = request_time.get(..8).unwrap_or_default().to_owned();
    let mut names: Vec<String> = request
        .headers
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    names.sort();
    names.dedup();
    let body_hash = hex::encode(Sha256::digest(request.body));
    // Every signed name comes from the request's own headers, so none can be missing.
    let canonical_request = canonical_request(request, &names, &body_hash).unwrap_or_default();
    let scope = Scope {
        request_time: &request_time,
        date: &scope_date,
        region,
        service,
    };
    let signature = hex::encode(hmac_sha256(
        &scope.signing_key(secret),
        scope.string_to_sign(&canonical_request).as_bytes(),
    ));
    format!(
        "{ALGORITHM} Credential={access_key}/{scope_date}/{region}/{service}/{TERMINATOR}, \
         SignedHeaders={}, Signature={signature}",
        names.join(";")
    )
}

/// The credential scope of one signature and the request time it was made at.
struct Scope<'a> {
    request_time: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
}

impl Scope<'_> {
    /// AWS's string to sign for `canonical_request`.
    fn string_to_sign(&self, canonical_request: &str) -> String {
        format!(
            "{ALGORITHM}\n{}\n{}/{}/{}/{TERMINATOR}\n{}",
            self.request_time,
            self.date,
            self.region,
            self.service,
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        )
    }

    /// The signing key derived from `secret` for this scope.
    fn signing_key(&self, secret: &str) -> Vec<u8> {
        [self.region, self.service, TERMINATOR].iter().fold(
            hmac_sha256(format!("AWS4{secret}").as_bytes(), self.date.as_bytes()),
            |key, part| hmac_sha256(&key, part.as_bytes()),
        )
    }
}

/// `now` as the `X-Amz-Date` header writes it (`20261129T101010Z`).
pub fn amz_date(now: Timestamp) -> String {
    iso8601(now)
}

/// The parts of an `Authorization` header; a part given empty counts as
/// missing.
struct Authorization<'a> {
    algorithm: &'a str,
    credential: Option<&'a str>,
    signed_headers: Option<&'a str>,
    signature: Option<&'a str>,
}

/// Splits `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
/// Unknown parts are ignored; the first of a repeated part wins.
fn parse_authorization(authorization: &str) -> Result<Authorization<'_>, SigError> {
    let (algorithm, params) = authorization
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((authorization, ""));
    let mut auth = Authorization {
        algorithm,
        credential: None,
        signed_headers: None,
        signature: None,
    };
    for part in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(SigError::IncompleteSignature {
                detail: format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                     header: '{authorization}'."
                ),
            });
        };
        let value = Some(value.trim()).filter(|v| !v.is_empty());
        let slot = match key.trim() {
            "Credential" => &mut auth.credential,
            "SignedHeaders" => &mut auth.signed_headers,
            "Signature" => &mut auth.signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = value;
        }
    }
    Ok(auth)
}

/// The canonical request AWS signs, for services other than S3.
fn canonical_request(
    request: &SignedRequest<'_>,
    signed_names: &[String],
    body_hash: &str,
) -> Result<String, SigError> {
    let mut canonical_headers = String::new();
    for name in signed_names {
        let values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(SigError::SignedHeaderMissing {
                header: name.clone(),
            });
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(format!(
        "{}\n{}\n{}\n{canonical_headers}\n{}\n{body_hash}",
        request.method,
        canonical_uri(request.path),
        canonical_query(request.query),
        signed_names.join(";"),
    ))
}

/// Normalizes the raw path and percent-encodes it once more.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut normalized = String::new();
    if path.starts_with('/') {
        normalized.push('/');
    }
    normalized.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    uri_encode(normalized.as_bytes(), true)
}

/// Decodes each name and value, re-encodes it strictly, and sorts by name,
/// then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&percent_decode(name), false),
                uri_encode(&percent_decode(value), false),
            )
        })
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// AWS's URI encoding: every byte but `A-Z a-z 0-9 - . _ ~` (and `/` when
/// `keep_slash`) becomes `%XX`, uppercase.
fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let mut encoded = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && byte == b'/')
        {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    decoded
}

/// The first value of header `name` (lowercase), whatever its case.
fn first_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Parses exactly `YYYYMMDDTHHMMSSZ`.
fn parse_iso8601_basic(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let digits_ok = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8]
            .iter()
            .chain(&bytes[9..15])
            .all(u8::is_ascii_digit);
    if !digits_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i16>().ok();
    let small = |range| number(range).and_then(|n| i8::try_from(n).ok());
    let datetime = civil::DateTime::new(
        number(0..4)?,
        small(4..6)?,
        small(6..8)?,
        small(9..11)?,
        small(11..13)?,
        small(13..15)?,
        0,
    )
    .ok()?;
    Offset::UTC.to_timestamp(datetime).ok()
}

/// Parses an HTTP `Date` header such as `Sun, 30 Aug 2015 12:36:00 GMT`.
fn parse_http_date(text: &str) -> Option<Timestamp> {
    static PARSER: DateTimeParser = DateTimeParser::new();
    PARSER.parse_timestamp(text).ok()
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(key).expect("HMAC-SHA256 accepts keys of any length")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_sign_signs_verify_accepts_and_a_changed_body_does_not() {
        let now: Timestamp = "2026-11-29T10:10:10Z".parse().expect("a timestamp");
        let body = br#"{"maxResults":5}"#;
        let mut headers = vec![
            ("host".to_string(), "127.0.0.1:8083".to_string()),
            ("x-amz-date".to_string(), amz_date(now)),
            (
                "x-amz-target".to_string(),
                "AWSStepFunctions.ListStateMachines".to_string(),
            ),
        ];
        let request = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        let authorization = sign(&request, "AKIDWEIR", "secret", "us-east-1", "states", now);
        headers.push(("authorization".to_string(), authorization));
        let keys: Keys = [("AKIDWEIR", "secret")].into_iter().collect();
        let signed = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
        };
        let verified = verify(&signed, &keys, now).expect("a signature sign made verifies");
        assert_eq!(
            (verified.region.as_str(), verified.service.as_str()),
            ("us-east-1", "states")
        );
        let changed = SignedRequest {
            body: b"{}",
            ..signed
        };
        assert_eq!(
            verify(&changed, &keys, now).map_err(|e| e.code()),
            Err("InvalidSignatureException")
        );
    }

    /// The official AWS SigV4 test suite (aws-sig-v4-test-suite, 2015-08-30):
    /// these requests, key, time and scope, with the suite's signatures. Every
    /// signature was also re-derived offline with botocore 1.43.11.
    const SUITE_KEY: &str = "AKIDEXAMPLE";
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_TIME: &str = "20150830T123600Z";
    const SUITE_CREDENTIAL: &str = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW\
        LWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8p\
        hUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0i\
        PPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    struct Case {
        name: &'static str,
        method: &'static str,
        path: &'static str,
        query: &'static str,
        /// Besides `Host` and `X-Amz-Date`.
        headers: &'static [(&'static str, &'static str)],
        body: &'static [u8],
        signed_headers: &'static str,
        signature: &'static str,
    }

    const PLAIN: &str = "host;x-amz-date";
    const UNRESERVED: &str = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    const SUITE: &[Case] = &[
        Case {
            name: "get-vanilla",
            method: "GET",
            path: "/",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        },
        Case {
            name: "get-vanilla-query-order-key-case",
            method: "GET",
            path: "/",
            query: "Param2=value2&Param1=value1",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        },
        Case {
            name: "get-vanilla-query-order-key",
            method: "GET",
            path: "/",
            query: "Param1=value2&Param1=Value1",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1",
        },
        Case {
            name: "get-vanilla-query-unreserved",
            method: "GET",
            path: "/",
            query: "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=\
                    -._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        },
        Case {
            name: "get-vanilla-utf8-query",
            method: "GET",
            path: "/",
            query: "\u{1234}=bar",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        },
        Case {
            name: "get-unreserved",
            method: "GET",
            path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        },
        Case {
            name: "get-utf8",
            method: "GET",
            path: "/\u{1234}",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        },
        Case {
            name: "normalize-path/get-space",
            method: "GET",
            path: "/example space/",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        },
        Case {
            name: "normalize-path/get-slashes",
            method: "GET",
            path: "//example//",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        },
        Case {
            name: "normalize-path/get-slash-pointless-dot",
            method: "GET",
            path: "/./example",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        },
        Case {
            name: "normalize-path/get-relative-relative",
            method: "GET",
            path: "/example1/example2/../..",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        },
        Case {
            name: "get-header-key-duplicate",
            method: "GET",
            path: "/",
            query: "",
            headers: &[
                ("My-Header1", "value2"),
                ("My-Header1", "value2"),
                ("My-Header1", "value1"),
            ],
            body: b"",
            signed_headers: "host;my-header1;x-amz-date",
            signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        },
        Case {
            name: "get-header-value-order",
            method: "GET",
            path: "/",
            query: "",
            headers: &[
                ("My-Header1", "value4"),
                ("My-Header1", "value1"),
                ("My-Header1", "value3"),
                ("My-Header1", "value2"),
            ],
            body: b"",
            signed_headers: "host;my-header1;x-amz-date",
            signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        },
        Case {
            name: "get-header-value-trim",
            method: "GET",
            path: "/",
            query: "",
            headers: &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
            body: b"",
            signed_headers: "host;my-header1;my-header2;x-amz-date",
            signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        },
        Case {
            name: "post-header-key-sort",
            method: "POST",
            path: "/",
            query: "",
            headers: &[("My-Header1", "value1")],
            body: b"",
            signed_headers: "host;my-header1;x-amz-date",
            signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        },
        Case {
            name: "post-header-value-case",
            method: "POST",
            path: "/",
            query: "",
            headers: &[("My-Header1", "VALUE1")],
            body: b"",
            signed_headers: "host;my-header1;x-amz-date",
            signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        },
        Case {
            name: "post-vanilla",
            method: "POST",
            path: "/",
            query: "",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        },
        Case {
            name: "post-vanilla-query",
            method: "POST",
            path: "/",
            query: "Param1=value1",
            headers: &[],
            body: b"",
            signed_headers: PLAIN,
            signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        },
        Case {
            name: "post-x-www-form-urlencoded",
            method: "POST",
            path: "/",
            query: "",
            headers: &[("Content-Type", "application/x-www-form-urlencoded")],
            body: b"Param1=value1",
            signed_headers: "content-type;host;x-amz-date",
            signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        },
        Case {
            name: "post-x-www-form-urlencoded-parameters",
            method: "POST",
            path: "/",
            query: "",
            headers: &[(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf8",
            )],
            body: b"Param1=value1",
            signed_headers: "content-type;host;x-amz-date",
            signature: "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe",
        },
        Case {
            name: "post-sts-token/post-sts-header-before",
            method: "POST",
            path: "/",
            query: "",
            headers: &[("X-Amz-Security-Token", SUITE_TOKEN)],
            body: b"",
            signed_headers: "host;x-amz-date;x-amz-security-token",
            signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        },
        Case {
            name: "post-sts-token/post-sts-header-after",
            method: "POST",
            path: "/",
            query: "",
            headers: &[("X-Amz-Security-Token", SUITE_TOKEN)],
            body: b"",
            signed_headers: PLAIN,
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        },
    ];

    fn time(text: &str) -> Timestamp {
        parse_iso8601_basic(text).expect("test times are ISO 8601 basic")
    }

    fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn authorization(credential: &str, signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_headers}, \
             Signature={signature}"
        )
    }

    fn suite_headers(case: &Case) -> Vec<(String, String)> {
        let mut headers = owned(&[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_TIME),
        ]);
        headers.extend(owned(case.headers));
        headers.push((
            "Authorization".to_owned(),
            authorization(SUITE_CREDENTIAL, case.signed_headers, case.signature),
        ));
        headers
    }

    fn verify_suite(case: &Case, keys: &Keys) -> Result<Verified, SigError> {
        let headers = suite_headers(case);
        let request = SignedRequest {
            method: case.method,
            path: case.path,
            query: case.query,
            headers: &headers,
            body: case.body,
        };
        verify(&request, keys, time(SUITE_TIME))
    }

    fn case(name: &str) -> &'static Case {
        SUITE
            .iter()
            .find(|case| case.name == name)
            .expect("the case is in SUITE")
    }

    #[test]
    fn every_official_suite_request_verifies() {
        let keys = Keys::from_iter([(SUITE_KEY, SUITE_SECRET)]);
        for case in SUITE {
            assert_eq!(
                verify_suite(case, &keys),
                Ok(Verified {
                    access_key: SUITE_KEY.to_owned(),
                    region: "us-east-1".to_owned(),
                    service: "service".to_owned(),
                }),
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn every_official_suite_request_fails_with_another_secret() {
        let keys = Keys::from_iter([(SUITE_KEY, "another secret")]);
        for case in SUITE {
            let error = verify_suite(case, &keys).expect_err(case.name);
            assert_eq!(error.code(), "InvalidSignatureException", "{}", case.name);
        }
    }

    /// The suite's canonical requests and strings to sign, read back from the
    /// mismatch error, which carries the server's.
    #[test]
    fn canonical_requests_match_the_official_suite() {
        let keys = Keys::from_iter([(SUITE_KEY, "another secret")]);
        let expect = |name: &str, canonical: &str, hash: &str| {
            let Err(SigError::SignatureMismatch {
                canonical_request,
                string_to_sign,
            }) = verify_suite(case(name), &keys)
            else {
                panic!("{name}: expected a signature mismatch");
            };
            assert_eq!(canonical_request, canonical, "{name}");
            assert_eq!(
                string_to_sign,
                format!(
                    "AWS4-HMAC-SHA256\n{SUITE_TIME}\n20150830/us-east-1/service/aws4_request\n{hash}"
                ),
                "{name}"
            );
        };
        let plain = format!(
            "host:example.amazonaws.com\nx-amz-date:{SUITE_TIME}\n\nhost;x-amz-date\n{EMPTY_SHA256}"
        );
        expect(
            "get-vanilla",
            &format!("GET\n/\n\n{plain}"),
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        );
        expect(
            "get-vanilla-utf8-query",
            &format!("GET\n/\n%E1%88%B4=bar\n{plain}"),
            "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
        );
        expect(
            "get-utf8",
            &format!("GET\n/%E1%88%B4\n\n{plain}"),
            "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
        );
        expect(
            "normalize-path/get-slashes",
            &format!("GET\n/example/\n\n{plain}"),
            "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
        );
        expect(
            "get-vanilla-query-unreserved",
            &format!("GET\n/\n{UNRESERVED}={UNRESERVED}\n{plain}"),
            "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
        );
        expect(
            "get-header-key-duplicate",
            &format!(
                "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n\
                 x-amz-date:{SUITE_TIME}\n\nhost;my-header1;x-amz-date\n{EMPTY_SHA256}"
            ),
            "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
        );
        expect(
            "get-header-value-trim",
            &format!(
                "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n\
                 x-amz-date:{SUITE_TIME}\n\nhost;my-header1;my-header2;x-amz-date\n{EMPTY_SHA256}"
            ),
            "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
        );
        expect(
            "post-x-www-form-urlencoded",
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n\
             host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
             content-type;host;x-amz-date\n\
             9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
        );
    }

    /// `StartExecution` as boto3 sends it, captured before sending and signed
    /// by botocore 1.43.11 at a fixed time. Generated once, offline, with:
    ///
    /// ```python
    /// import datetime
    /// from unittest import mock
    /// import botocore.auth, botocore.session
    /// from botocore.awsrequest import AWSResponse
    /// def sfn(token):
    ///     client = botocore.session.get_session().create_client(
    ///         "stepfunctions", region_name="us-east-1", endpoint_url="http://localhost:8083",
    ///         aws_access_key_id="AKIAWEIRTESTKEY00001",
    ///         aws_secret_access_key="weir/secret+key/0123456789abcdefghijklmn",
    ///         aws_session_token=token)
    ///     captured = {}
    ///     def before_send(request, **kw):
    ///         captured["r"] = request
    ///         return AWSResponse(request.url, 200, {}, None)
    ///     client.meta.events.register("before-send.*", before_send)
    ///     at = datetime.datetime(2026, 11, 29, 10, 10, 10)
    ///     with mock.patch.object(botocore.auth, "get_current_datetime", lambda: at):
    ///         try:
    ///             client.start_execution(
    ///                 stateMachineArn="arn:aws:states:us-east-1:123456789012:stateMachine:demo",
    ///                 name="run-1", input='{"a": "b  c"}')
    ///         except Exception:
    ///             pass
    ///     r = captured["r"]
    ///     print(r.method, r.url, dict(r.headers.items()), r.body)
    /// sfn(None)
    /// sfn("FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDGV4YW1wbGU=")
    /// ```
    ///
    /// The `Host` header is the one urllib3 adds when it sends the request.
    const SFN_KEY: &str = "AKIAWEIRTESTKEY00001";
    const SFN_SECRET: &str = "weir/secret+key/0123456789abcdefghijklmn";
    const SFN_TIME: &str = "20261129T101010Z";
    const SFN_CREDENTIAL: &str = "AKIAWEIRTESTKEY00001/20261129/us-east-1/states/aws4_request";
    const SFN_TOKEN: &str = "FwoGZXIvYXdzEXAMPLETOKEN//////////wEaDGV4YW1wbGU=";
    const SFN_BODY: &[u8] = br#"{"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:demo", "name": "run-1", "input": "{\"a\": \"b  c\"}"}"#;
    const SFN_SIGNED: &str = "content-type;host;x-amz-date;x-amz-target";
    const SFN_SIGNATURE: &str = "0d0e5abd77d067f47cb613eb5799bf7ed7c40a1fcb22ddc7dc7975b747b5231b";
    const SFN_SIGNED_WITH_TOKEN: &str =
        "content-type;host;x-amz-date;x-amz-security-token;x-amz-target";
    const SFN_SIGNATURE_WITH_TOKEN: &str =
        "eab0149e4e2629cc91624f8e83929850e8132a3d4db424d923d49a3cfe116e02";
    const USER_AGENT: &str = "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v669 md/arch#x86_64 \
        lang/python#3.11.7 md/pyimpl#CPython m/N,b,D,Z,e cfg/retry-mode#legacy";

    fn sfn_headers() -> Vec<(String, String)> {
        let mut headers = owned(&[
            ("Host", "localhost:8083"),
            ("X-Amz-Target", "AWSStepFunctions.StartExecution"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("User-Agent", USER_AGENT),
            ("X-Amz-Date", SFN_TIME),
        ]);
        headers.push((
            "Authorization".to_owned(),
            authorization(SFN_CREDENTIAL, SFN_SIGNED, SFN_SIGNATURE),
        ));
        headers.extend(owned(&[
            (
                "amz-sdk-invocation-id",
                "e8f00e74-a2dc-4b33-9259-3f300d53eeb5",
            ),
            ("amz-sdk-request", "attempt=1"),
            ("Content-Length", "125"),
        ]));
        headers
    }

    fn sfn_keys() -> Keys {
        Keys::from_iter([(SFN_KEY, SFN_SECRET), ("AKIAOTHERKEY", "other secret")])
    }

    fn post(headers: &[(String, String)], body: &[u8], now: &str) -> Result<Verified, SigError> {
        let request = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers,
            body,
        };
        verify(&request, &sfn_keys(), time(now))
    }

    fn without(headers: &[(String, String)], name: &str) -> Vec<(String, String)> {
        headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .cloned()
            .collect()
    }

    fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
        let mut headers = without(headers, name);
        headers.push((name.to_owned(), value.to_owned()));
        headers
    }

    fn sfn_verified() -> Verified {
        Verified {
            access_key: SFN_KEY.to_owned(),
            region: "us-east-1".to_owned(),
            service: "states".to_owned(),
        }
    }

    /// Asserts the request is refused with `code`, status 400 and `message`.
    fn assert_refused(result: Result<Verified, SigError>, code: &str, message: &str) {
        let error = result.expect_err("the request must be refused");
        assert_eq!(error.code(), code, "{error}");
        assert_eq!(error.http_status(), 400);
        assert_eq!(error.to_string(), message);
    }

    /// Signs `POST /` with no query the way the AWS documentation spells it
    /// out, independently of the code under test.
    fn sign_by_hand(
        secret: &str,
        credential: &str,
        request_time: &str,
        headers: &[(String, String)],
        signed_headers: &str,
        body: &[u8],
    ) -> String {
        let hmac = |key: &[u8], data: &str| {
            let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        let canonical_headers: String = signed_headers
            .split(';')
            .map(|name| {
                let value = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map_or("", |(_, v)| v.trim());
                format!("{name}:{value}\n")
            })
            .collect();
        let canonical_request = format!(
            "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
            hex::encode(Sha256::digest(body))
        );
        let (_, scope) = credential.split_once('/').expect("key/scope");
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{request_time}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let key = scope
            .split('/')
            .fold(format!("AWS4{secret}").into_bytes(), |key, part| {
                hmac(&key, part)
            });
        hex::encode(hmac(&key, &string_to_sign))
    }

    /// The boto3 headers, re-signed by hand after `change`.
    fn resigned(
        change: impl FnOnce(Vec<(String, String)>) -> Vec<(String, String)>,
        credential: &str,
        signed_headers: &str,
        request_time: &str,
        body: &[u8],
    ) -> Vec<(String, String)> {
        let headers = change(without(&sfn_headers(), "authorization"));
        let signature = sign_by_hand(
            SFN_SECRET,
            credential,
            request_time,
            &headers,
            signed_headers,
            body,
        );
        with(
            &headers,
            "Authorization",
            &authorization(credential, signed_headers, &signature),
        )
    }

    #[test]
    fn boto3_start_execution_verifies() {
        assert_eq!(post(&sfn_headers(), SFN_BODY, SFN_TIME), Ok(sfn_verified()));
    }

    #[test]
    fn boto3_start_execution_with_a_session_token_verifies() {
        let headers = with(
            &with(&sfn_headers(), "X-Amz-Security-Token", SFN_TOKEN),
            "Authorization",
            &authorization(
                SFN_CREDENTIAL,
                SFN_SIGNED_WITH_TOKEN,
                SFN_SIGNATURE_WITH_TOKEN,
            ),
        );
        assert_eq!(post(&headers, SFN_BODY, SFN_TIME), Ok(sfn_verified()));
    }

    #[test]
    fn header_names_in_any_case_verify() {
        let lowercase: Vec<(String, String)> = sfn_headers()
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect();
        assert_eq!(post(&lowercase, SFN_BODY, SFN_TIME), Ok(sfn_verified()));
    }

    #[test]
    fn the_hand_signer_agrees_with_botocore() {
        let headers = resigned(|h| h, SFN_CREDENTIAL, SFN_SIGNED, SFN_TIME, SFN_BODY);
        assert_eq!(
            first_header(&headers, "authorization"),
            first_header(&sfn_headers(), "authorization")
        );
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let keys = Keys::from_iter([(SFN_KEY, "not the secret")]);
        let headers = sfn_headers();
        let request = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: SFN_BODY,
        };
        let error = verify(&request, &keys, time(SFN_TIME)).expect_err("wrong secret");
        assert_eq!(error.code(), "InvalidSignatureException");
        assert_eq!(error.http_status(), 400);
        assert!(error.to_string().starts_with(&format!(
            "{MISMATCH_MESSAGE}\n\nThe Canonical String for this request should have been\n\
             'POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:localhost:8083\n"
        )));
    }

    #[test]
    fn a_body_changed_after_signing_is_refused() {
        let changed = SFN_BODY
            .to_vec()
            .into_iter()
            .map(|b| if b == b'1' { b'2' } else { b })
            .collect::<Vec<_>>();
        let error = post(&sfn_headers(), &changed, SFN_TIME).expect_err("changed body");
        assert_eq!(error.code(), "InvalidSignatureException");
        assert!(error.to_string().starts_with(MISMATCH_MESSAGE));
    }

    #[test]
    fn a_body_that_does_not_match_x_amz_content_sha256_is_refused() {
        let body_hash = hex::encode(Sha256::digest(SFN_BODY));
        let headers = resigned(
            |h| with(&h, "X-Amz-Content-Sha256", &body_hash),
            SFN_CREDENTIAL,
            "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target",
            SFN_TIME,
            SFN_BODY,
        );
        assert_eq!(post(&headers, SFN_BODY, SFN_TIME), Ok(sfn_verified()));
        assert_refused(
            post(&headers, b"{}", SFN_TIME),
            "InvalidSignatureException",
            &format!(
                "The provided 'x-amz-content-sha256' header does not match what was computed. \
                 Provided: '{body_hash}', computed from the body: \
                 '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'."
            ),
        );
    }

    #[test]
    fn an_unsigned_payload_is_refused() {
        let headers = resigned(
            |h| with(&h, "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
            SFN_CREDENTIAL,
            "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target",
            SFN_TIME,
            SFN_BODY,
        );
        let error = post(&headers, SFN_BODY, SFN_TIME).expect_err("unsigned payload");
        assert!(
            matches!(error, SigError::ContentSha256Mismatch { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_request_more_than_five_minutes_old_is_refused() {
        assert_refused(
            post(&sfn_headers(), SFN_BODY, "20261129T101511Z"),
            "InvalidSignatureException",
            "Signature expired: 20261129T101010Z is now earlier than 20261129T101011Z \
             (20261129T101511Z - 5 min.)",
        );
    }

    #[test]
    fn a_request_more_than_five_minutes_ahead_is_refused() {
        assert_refused(
            post(&sfn_headers(), SFN_BODY, "20261129T100509Z"),
            "InvalidSignatureException",
            "Signature not yet current: 20261129T101010Z is still later than 20261129T101009Z \
             (20261129T100509Z + 5 min.)",
        );
    }

    #[test]
    fn exactly_five_minutes_either_way_is_accepted() {
        for now in ["20261129T101510Z", "20261129T100510Z"] {
            assert_eq!(
                post(&sfn_headers(), SFN_BODY, now),
                Ok(sfn_verified()),
                "{now}"
            );
        }
    }

    #[test]
    fn a_request_without_authorization_is_refused() {
        assert_refused(
            post(
                &without(&sfn_headers(), "authorization"),
                SFN_BODY,
                SFN_TIME,
            ),
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        );
    }

    #[test]
    fn an_authorization_that_is_not_sigv4_is_refused() {
        assert_refused(
            post(
                &with(&sfn_headers(), "Authorization", "Bearer abc"),
                SFN_BODY,
                SFN_TIME,
            ),
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        );
    }

    #[test]
    fn a_request_without_a_date_is_refused() {
        let auth = authorization(SFN_CREDENTIAL, SFN_SIGNED, SFN_SIGNATURE);
        assert_refused(
            post(&without(&sfn_headers(), "x-amz-date"), SFN_BODY, SFN_TIME),
            "IncompleteSignatureException",
            &format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header. Authorization={auth}"
            ),
        );
    }

    #[test]
    fn a_malformed_date_is_refused() {
        assert_refused(
            post(
                &with(&sfn_headers(), "X-Amz-Date", "2026-11-29T10:10:10Z"),
                SFN_BODY,
                SFN_TIME,
            ),
            "IncompleteSignatureException",
            "Date must be in ISO-8601 'basic format'. Got '2026-11-29T10:10:10Z'. See \
             http://en.wikipedia.org/wiki/ISO_8601",
        );
    }

    #[test]
    fn an_http_date_header_may_replace_x_amz_date() {
        let headers = resigned(
            |h| {
                with(
                    &without(&h, "x-amz-date"),
                    "Date",
                    "Sun, 29 Nov 2026 10:10:10 GMT",
                )
            },
            SFN_CREDENTIAL,
            "content-type;date;host;x-amz-target",
            SFN_TIME,
            SFN_BODY,
        );
        assert_eq!(post(&headers, SFN_BODY, SFN_TIME), Ok(sfn_verified()));
    }

    #[test]
    fn a_signed_header_missing_from_the_request_is_refused() {
        assert_refused(
            post(&without(&sfn_headers(), "x-amz-target"), SFN_BODY, SFN_TIME),
            "InvalidSignatureException",
            "Header 'x-amz-target' is listed in 'SignedHeaders' but is missing from the request.",
        );
    }

    #[test]
    fn an_unknown_access_key_is_refused() {
        let credential = "AKIAUNKNOWN/20261129/us-east-1/states/aws4_request";
        let headers = with(
            &sfn_headers(),
            "Authorization",
            &authorization(credential, SFN_SIGNED, SFN_SIGNATURE),
        );
        let error = post(&headers, SFN_BODY, SFN_TIME).expect_err("unknown key");
        assert_eq!(
            error,
            SigError::UnrecognizedClient {
                access_key: "AKIAUNKNOWN".to_owned()
            }
        );
        assert_refused(
            Err(error),
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        );
    }

    #[test]
    fn missing_authorization_parts_are_named() {
        let auth =
            format!("AWS4-HMAC-SHA256 Credential={SFN_CREDENTIAL}, SignedHeaders={SFN_SIGNED}");
        assert_refused(
            post(
                &with(&sfn_headers(), "Authorization", &auth),
                SFN_BODY,
                SFN_TIME,
            ),
            "IncompleteSignatureException",
            &format!("Authorization header requires 'Signature' parameter. Authorization={auth}"),
        );
        let bare = "AWS4-HMAC-SHA256";
        assert_refused(
            post(
                &with(&sfn_headers(), "Authorization", bare),
                SFN_BODY,
                SFN_TIME,
            ),
            "IncompleteSignatureException",
            "Authorization header requires 'Credential' parameter. Authorization header \
             requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
             parameter. Authorization=AWS4-HMAC-SHA256",
        );
    }

    #[test]
    fn an_authorization_part_without_equal_sign_is_refused() {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential {SFN_CREDENTIAL}, SignedHeaders={SFN_SIGNED}, \
             Signature={SFN_SIGNATURE}"
        );
        assert_refused(
            post(
                &with(&sfn_headers(), "Authorization", &auth),
                SFN_BODY,
                SFN_TIME,
            ),
            "IncompleteSignatureException",
            &format!(
                "'Credential {SFN_CREDENTIAL}' not a valid key=value pair (missing equal-sign) \
                 in Authorization header: '{auth}'."
            ),
        );
    }

    #[test]
    fn an_unsupported_algorithm_is_refused() {
        let auth = authorization(SFN_CREDENTIAL, SFN_SIGNED, SFN_SIGNATURE)
            .replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
        assert_refused(
            post(
                &with(&sfn_headers(), "Authorization", &auth),
                SFN_BODY,
                SFN_TIME,
            ),
            "IncompleteSignatureException",
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).",
        );
    }

    #[test]
    fn a_credential_without_five_elements_is_refused() {
        let credential = "AKIAWEIRTESTKEY00001/20261129/us-east-1/aws4_request";
        assert_refused(
            post(
                &with(
                    &sfn_headers(),
                    "Authorization",
                    &authorization(credential, SFN_SIGNED, SFN_SIGNATURE),
                ),
                SFN_BODY,
                SFN_TIME,
            ),
            "IncompleteSignatureException",
            &format!(
                "Credential must have exactly 5 slash-delimited elements, e.g. \
                 keyid/date/region/service/term, got '{credential}'"
            ),
        );
    }

    #[test]
    fn a_scope_date_other_than_the_request_date_is_refused() {
        let credential = "AKIAWEIRTESTKEY00001/20261128/us-east-1/states/aws4_request";
        let headers = resigned(|h| h, credential, SFN_SIGNED, SFN_TIME, SFN_BODY);
        assert_refused(
            post(&headers, SFN_BODY, SFN_TIME),
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '20261128' != '20261129', from '20261129T101010Z'.",
        );
    }

    #[test]
    fn a_scope_with_a_wrong_terminator_and_no_region_is_refused() {
        let credential = "AKIAWEIRTESTKEY00001/20261129//states/aws5_request";
        let headers = resigned(|h| h, credential, SFN_SIGNED, SFN_TIME, SFN_BODY);
        assert_refused(
            post(&headers, SFN_BODY, SFN_TIME),
            "InvalidSignatureException",
            "Credential should be scoped to a valid region, not ''. Credential should be scoped \
             with a valid terminator: 'aws4_request', not 'aws5_request'.",
        );
    }

    #[test]
    fn host_must_be_signed() {
        let signed = "content-type;x-amz-date;x-amz-target";
        let headers = resigned(|h| h, SFN_CREDENTIAL, signed, SFN_TIME, SFN_BODY);
        assert_refused(
            post(&headers, SFN_BODY, SFN_TIME),
            "InvalidSignatureException",
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        );
    }

    #[test]
    fn a_signature_that_is_not_hex_is_refused() {
        let headers = with(
            &sfn_headers(),
            "Authorization",
            &authorization(SFN_CREDENTIAL, SFN_SIGNED, "not-hex"),
        );
        let error = post(&headers, SFN_BODY, SFN_TIME).expect_err("not hex");
        assert!(
            matches!(error, SigError::SignatureMismatch { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn another_region_and_service_are_returned() {
        let credential = "AKIAWEIRTESTKEY00001/20261129/eu-west-3/weir/aws4_request";
        let headers = resigned(|h| h, credential, SFN_SIGNED, SFN_TIME, SFN_BODY);
        assert_eq!(
            post(&headers, SFN_BODY, SFN_TIME),
            Ok(Verified {
                access_key: SFN_KEY.to_owned(),
                region: "eu-west-3".to_owned(),
                service: "weir".to_owned(),
            })
        );
    }

    #[test]
    fn keys_debug_hides_secrets() {
        let shown = format!("{:?}", sfn_keys());
        assert_eq!(shown, r#"Keys(["AKIAOTHERKEY", "AKIAWEIRTESTKEY00001"])"#);
    }

    #[test]
    fn query_values_are_decoded_then_encoded_strictly() {
        assert_eq!(
            canonical_query("b=%7e&a=x+y&c&a=%2F"),
            "a=%2F&a=x%2By&b=~&c="
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a%20b/./c/../d/"), "/a%2520b/d/");
    }
}
