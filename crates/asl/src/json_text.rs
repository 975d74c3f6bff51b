//! JSON text as AWS reads it: definitions and execution inputs are parsed with `serde_json`, and
//! when the text is malformed the error is worded the way AWS's parser (Java's Jackson) words it.
//!
//! AWS returns Jackson's messages verbatim, for example
//! `Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token 'null',
//! 'true' or 'false')` with the location `[Source: (String)"not a definition"; line: 1, column:
//! 4]`. Clients match on these texts, so [`parse`] reproduces them.
//!
//! # Design
//!
//! `serde_json` does the real parse. Only when it fails does a small scanner walk the text the way
//! Jackson's streaming parser does, stop at the first problem Jackson would report, and word it
//! like Jackson. The scanner is iterative (an explicit stack), so deeply nested garbage cannot
//! overflow the call stack. Columns count UTF-16 code units and start at 1, as Java's do; a
//! `\r\n` pair counts as one line break.
//!
//! Behaviour chosen where AWS's is not recorded: text after the first complete value is an error
//! (Jackson's `FAIL_ON_TRAILING_TOKENS` wording), and an empty text is an error worded like
//! Jackson's `No content to map due to end-of-input`. Execution inputs that are empty are refused
//! with AWS's own `Invalid execution input.` (see [`parse_execution_input`]).

use std::fmt;

use serde_json::Value;

/// Jackson's list of what may start a JSON value, used in several of its messages.
const VALID_VALUES: &str =
    "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')";

/// Jackson shortens an unrecognised token after this many characters.
const MAX_ERROR_TOKEN_LENGTH: usize = 256;

/// Jackson quotes at most this many UTF-16 units of the source in a location.
const MAX_SOURCE_SNIPPET: usize = 500;

/// Malformed JSON text, worded as AWS (Jackson) words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonTextError {
    /// What is wrong, e.g. `Unexpected character (''' (code 39)): was expecting double-quote to
    /// start field name`.
    pub message: String,
    /// Where, e.g. `[Source: (String)"{'a': 1}"; line: 1, column: 3]`.
    pub location: String,
}

impl JsonTextError {
    /// The message and location as Jackson's exception prints them (`message\n at location`),
    /// which is what `ValidateStateMachineDefinition` reports for `INVALID_JSON_DESCRIPTION`.
    pub fn full_message(&self) -> String {
        format!("{}\n at {}", self.message, self.location)
    }
}

impl fmt::Display for JsonTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_message())
    }
}

impl std::error::Error for JsonTextError {}

/// Parses JSON text; on failure the error carries Jackson's wording and location.
pub fn parse(text: &str) -> Result<Value, JsonTextError> {
    match serde_json::from_str(text) {
        Ok(value) => Ok(value),
        Err(error) => Err(Scanner::new(text)
            .check()
            .err()
            .unwrap_or_else(|| fallback(text, &error))),
    }
}

/// Parses an execution input (`StartExecution`'s `input`). The error is the complete cause AWS
/// returns with `InvalidExecutionInput`, e.g. `Invalid State Machine Execution Input:
/// 'Unrecognized token 'not': was expecting (...)'`; an empty input is `Invalid execution input.`
pub fn parse_execution_input(text: &str) -> Result<Value, String> {
    let wrap = |message: &str| format!("Invalid State Machine Execution Input: '{message}'");
    if text.trim_matches(is_json_space).is_empty() {
        return Err(wrap("Invalid execution input."));
    }
    parse(text).map_err(|error| wrap(&error.message))
}

/// A key that appears twice in one object of valid JSON text. `serde_json` keeps the last value
/// silently; AWS refuses duplicate state names, so [`crate::validate`] asks for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    /// Where the object is, in AWS's location style (`/States/Map/ItemProcessor/States`).
    pub(crate) object: String,
    /// The repeated key.
    pub(crate) key: String,
}

/// The duplicate keys of valid JSON text, in document order (empty if the text is not JSON).
pub(crate) fn duplicate_keys(text: &str) -> Vec<DuplicateKey> {
    use serde::de::DeserializeSeed;
    let found = std::cell::RefCell::new(Vec::new());
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let seed = KeySeed {
        path: String::new(),
        found: &found,
    };
    if seed.deserialize(&mut deserializer).is_err() {
        return Vec::new();
    }
    found.into_inner()
}

/// Walks a JSON document with serde, noting repeated keys.
struct KeySeed<'f> {
    path: String,
    found: &'f std::cell::RefCell<Vec<DuplicateKey>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq
            .next_element_seed(KeySeed {
                path: format!("{}[{i}]", self.path),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}/{key}", self.path);
            if !seen.insert(key.clone()) {
                self.found.borrow_mut().push(DuplicateKey {
                    object: self.path.clone(),
                    key,
                });
            }
            map.next_value_seed(KeySeed {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Used only when `serde_json` refuses text the scanner accepts (for example a number too large
/// for `serde_json`, or nesting deeper than it allows): keep `serde_json`'s reason, in Jackson's
/// frame.
fn fallback(text: &str, error: &serde_json::Error) -> JsonTextError {
    let reason = error.to_string();
    let reason = reason
        .rsplit_once(" at line ")
        .map_or(reason.as_str(), |(head, _)| head);
    JsonTextError {
        message: format!("Invalid JSON: {reason}"),
        location: source_location(text, error.line(), error.column()),
    }
}

/// `[Source: (String)"..."; line: L, column: C]` as Jackson prints it.
fn source_location(text: &str, line: usize, column: usize) -> String {
    let mut out = String::from("[Source: (String)\"");
    let total: usize = text.chars().map(char::len_utf16).sum();
    let mut taken = 0;
    for c in text.chars() {
        if taken + c.len_utf16() > MAX_SOURCE_SNIPPET {
            break;
        }
        taken += c.len_utf16();
        if is_iso_control(c) && c != '\r' && c != '\n' {
            out.push_str(&format!("\\u{:04X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('"');
    if total > MAX_SOURCE_SNIPPET {
        out.push_str(&format!("[truncated {} chars]", total - MAX_SOURCE_SNIPPET));
    }
    out.push_str(&format!("; line: {line}, column: {column}]"));
    out
}

/// Java's `Character.isISOControl`.
fn is_iso_control(c: char) -> bool {
    matches!(u32::from(c), 0x00..=0x1F | 0x7F..=0x9F)
}

/// Java's `Character.isJavaIdentifierStart`, closely enough for error messages.
fn is_identifier_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$' || is_currency(c)
}

/// Java's `Character.isJavaIdentifierPart`, closely enough for error messages.
fn is_identifier_part(c: char) -> bool {
    c.is_alphanumeric()
        || c == '_'
        || c == '$'
        || is_currency(c)
        || matches!(u32::from(c), 0x00..=0x08 | 0x0E..=0x1B | 0x7F..=0x9F)
}

fn is_currency(c: char) -> bool {
    matches!(u32::from(c), 0xA2..=0xA5 | 0x20A0..=0x20CF)
}

/// How Jackson names a character in a message: `'x' (code 120)`, `(CTRL-CHAR, code 10)`.
fn char_desc(c: char) -> String {
    // Jackson sees UTF-16 units: a character outside the BMP shows as its high surrogate.
    let code = if u32::from(c) > 0xFFFF {
        let mut units = [0u16; 2];
        u32::from(c.encode_utf16(&mut units)[0])
    } else {
        u32::from(c)
    };
    if is_iso_control(c) {
        format!("(CTRL-CHAR, code {code})")
    } else if code > 255 {
        format!("'{c}' (code {code} / 0x{code:x})")
    } else {
        format!("'{c}' (code {code})")
    }
}

/// An open array or object and where it started (for Jackson's "start marker at" text).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Array,
    Object,
}

impl Kind {
    fn desc(self) -> &'static str {
        match self {
            Kind::Array => "Array",
            Kind::Object => "Object",
        }
    }
}

struct Scope {
    kind: Kind,
    line: usize,
    column: usize,
    entries: usize,
}

/// Walks malformed text as Jackson's `ReaderBasedJsonParser` does and reports its first error.
struct Scanner<'a> {
    text: &'a str,
    chars: Vec<char>,
    pos: usize,
    /// UTF-16 offset of `pos`, and of the start of the current line.
    unit: usize,
    row_start: usize,
    line: usize,
    stack: Vec<Scope>,
}

type Step<T> = Result<T, JsonTextError>;

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner {
            text,
            chars: text.chars().collect(),
            pos: 0,
            unit: 0,
            row_start: 0,
            line: 1,
            stack: Vec::new(),
        }
    }

    fn column(&self) -> usize {
        self.unit - self.row_start + 1
    }

    fn error_at(&self, message: String, line: usize, column: usize) -> JsonTextError {
        JsonTextError {
            message,
            location: source_location(self.text, line, column),
        }
    }

    /// An error located where the parser stands (Jackson's current location).
    fn error(&self, message: String) -> JsonTextError {
        self.error_at(message, self.line, self.column())
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        self.unit += c.len_utf16();
        Some(c)
    }

    fn new_line(&mut self) {
        self.line += 1;
        self.row_start = self.unit;
    }

    fn unexpected(&self, c: char, comment: &str) -> JsonTextError {
        let mut message = format!("Unexpected character ({})", char_desc(c));
        if !comment.is_empty() {
            message.push_str(": ");
            message.push_str(comment);
        }
        self.error(message)
    }

    fn eof(&self, what: &str) -> JsonTextError {
        self.error(format!("Unexpected end-of-input{what}"))
    }

    /// Skips white space; `None` at the end of the text. Other control characters and comments
    /// are errors, as in Jackson.
    fn skip_space(&mut self) -> Step<Option<char>> {
        while let Some(c) = self.bump() {
            match c {
                ' ' | '\t' => {}
                '\n' => self.new_line(),
                '\r' => {
                    if self.peek() == Some('\n') {
                        self.bump();
                    }
                    self.new_line();
                }
                '/' | '#' => {
                    return Err(self.unexpected(
                        c,
                        "maybe a (non-standard) comment? (not recognized as one since Feature \
                         'ALLOW_COMMENTS' not enabled for parser)",
                    ));
                }
                c if u32::from(c) < 0x20 => {
                    return Err(self.error(format!(
                        "Illegal character ({}): only regular white space (\\r, \\n, \\t) is \
                         allowed between tokens",
                        char_desc(c)
                    )));
                }
                c => return Ok(Some(c)),
            }
        }
        Ok(None)
    }

    /// Checks the whole text; `Ok` means the scanner found nothing Jackson would refuse.
    fn check(mut self) -> Step<()> {
        let Some(first) = self.skip_space()? else {
            return Err(self.error_at("No content to map due to end-of-input".to_string(), 1, 0));
        };
        self.value(first)?;
        while !self.stack.is_empty() {
            self.next_in_scope()?;
        }
        self.trailing()
    }

    /// Reads the next token inside the innermost open array or object.
    fn next_in_scope(&mut self) -> Step<()> {
        let Some(c) = self.skip_space()? else {
            let scope = self.stack.last().map(|s| (s.kind, s.line, s.column));
            return Err(match scope {
                Some((kind, line, column)) => self.eof(&format!(
                    ": expected close marker for {} (start marker at {})",
                    kind.desc(),
                    source_location(self.text, line, column)
                )),
                None => self.eof(""),
            });
        };
        if c == ']' || c == '}' {
            return self.close(c);
        }
        let Some(scope) = self.stack.last_mut() else {
            return Ok(());
        };
        let (kind, entries) = (scope.kind, scope.entries);
        scope.entries += 1;
        let mut c = c;
        if entries > 0 {
            if c != ',' {
                return Err(self.unexpected(
                    c,
                    &format!("was expecting comma to separate {} entries", kind.desc()),
                ));
            }
            c = self
                .skip_space()?
                .ok_or_else(|| self.eof(&format!(" within/between {} entries", kind.desc())))?;
        }
        if kind == Kind::Object {
            if c != '"' {
                return Err(self.unexpected(c, "was expecting double-quote to start field name"));
            }
            self.string(true)?;
            c = match self.skip_space()? {
                Some(':') => self.skip_space()?,
                Some(other) => {
                    return Err(self.unexpected(
                        other,
                        "was expecting a colon to separate field name and value",
                    ));
                }
                None => None,
            }
            .ok_or_else(|| self.eof(" within/between Object entries"))?;
            if c == '}' {
                return Err(self.unexpected(c, "expected a value"));
            }
        } else if c == '}' {
            return Err(self.unexpected(c, "expected a value"));
        }
        self.value(c)
    }

    fn close(&mut self, c: char) -> Step<()> {
        let expected = match self.stack.last().map(|s| s.kind) {
            Some(Kind::Array) => ']',
            Some(Kind::Object) => '}',
            None => {
                // Jackson names the other closer, whichever was found.
                let expected = if c == ']' { '}' } else { ']' };
                return Err(self.error(format!(
                    "Unexpected close marker '{c}': expected '{expected}' (for ROOT starting at {})",
                    source_location(self.text, 1, 0)
                )));
            }
        };
        if c != expected {
            let Some(scope) = self.stack.last() else {
                return Ok(());
            };
            let (name, line, column) = (scope.kind.desc(), scope.line, scope.column);
            return Err(self.error(format!(
                "Unexpected close marker '{c}': expected '{expected}' (for {name} starting at {})",
                source_location(self.text, line, column)
            )));
        }
        self.stack.pop();
        Ok(())
    }

    /// Reads a value whose first character `c` has been consumed.
    fn value(&mut self, c: char) -> Step<()> {
        match c {
            '"' => self.string(false),
            '[' | '{' => {
                let column = self.column() - 1;
                self.stack.push(Scope {
                    kind: if c == '[' { Kind::Array } else { Kind::Object },
                    line: self.line,
                    column,
                    entries: 0,
                });
                Ok(())
            }
            't' => self.literal("true"),
            'f' => self.literal("false"),
            'n' => self.literal("null"),
            '-' | '0'..='9' => self.number(c),
            'N' => self.non_numeric("NaN"),
            'I' => self.non_numeric("Infinity"),
            c if is_identifier_start(c) => Err(self.invalid_token(c.to_string())),
            c => Err(self.unexpected(c, &format!("expected a valid value {VALID_VALUES}"))),
        }
    }

    /// `Unrecognized token 'xyz'`: the token runs on over identifier characters.
    fn invalid_token(&mut self, mut token: String) -> JsonTextError {
        while let Some(c) = self.peek() {
            if !is_identifier_part(c) {
                break;
            }
            self.bump();
            token.push(c);
            if token.chars().count() >= MAX_ERROR_TOKEN_LENGTH {
                token.push_str("...");
                break;
            }
        }
        self.error(format!(
            "Unrecognized token '{token}': was expecting {VALID_VALUES}"
        ))
    }

    /// `true`, `false` or `null`, whose first character has been consumed.
    fn literal(&mut self, word: &str) -> Step<()> {
        let mut matched = String::new();
        for expected in word.chars() {
            if matched.is_empty() {
                matched.push(expected);
                continue;
            }
            if self.peek() != Some(expected) {
                return Err(self.invalid_token(matched));
            }
            self.bump();
            matched.push(expected);
        }
        match self.peek() {
            Some(c) if is_identifier_part(c) => Err(self.invalid_token(matched)),
            _ => Ok(()),
        }
    }

    fn non_numeric(&mut self, word: &str) -> Step<()> {
        self.literal(word)?;
        Err(self.error(format!(
            "Non-standard token '{word}': enable JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to \
             allow"
        )))
    }

    fn digits(&mut self) -> usize {
        let mut count = 0;
        while matches!(self.peek(), Some('0'..='9')) {
            self.bump();
            count += 1;
        }
        count
    }

    fn number_char_error(&mut self, comment: &str) -> JsonTextError {
        match self.bump() {
            Some(c) => self.error(format!(
                "Unexpected character ({}) in numeric value: {comment}",
                char_desc(c)
            )),
            None => self.eof(" in a Number value"),
        }
    }

    /// A number whose first character (`-` or a digit) has been consumed.
    fn number(&mut self, first: char) -> Step<()> {
        let lead = if first == '-' {
            match self.peek() {
                Some(c @ '0'..='9') => {
                    self.bump();
                    c
                }
                Some('I') => {
                    self.bump();
                    return self.non_numeric("Infinity").map_err(|mut e| {
                        e.message = e.message.replace("'Infinity'", "'-Infinity'");
                        e
                    });
                }
                _ => {
                    return Err(self.number_char_error(
                        "expected digit (0-9) to follow minus sign, for valid numeric value",
                    ));
                }
            }
        } else {
            first
        };
        if lead == '0' && matches!(self.peek(), Some('0'..='9')) {
            self.bump();
            return Err(self.error("Invalid numeric value: Leading zeroes not allowed".to_string()));
        }
        self.digits();
        if self.peek() == Some('.') {
            self.bump();
            if self.digits() == 0 {
                return Err(self.number_char_error("Decimal point not followed by a digit"));
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.digits() == 0 {
                return Err(self.number_char_error("Exponent indicator not followed by a digit"));
            }
        }
        if self.stack.is_empty() {
            // A root-level number must be followed by white space or the end.
            if let Some(c) = self.peek()
                && !is_json_space(c)
            {
                self.bump();
                return Err(self.unexpected(c, "Expected space separating root-level values"));
            }
        }
        Ok(())
    }

    /// A string (or, with `name`, a field name) whose opening quote has been consumed.
    fn string(&mut self, name: bool) -> Step<()> {
        loop {
            let Some(c) = self.bump() else {
                return Err(self.eof(if name {
                    " in field name"
                } else {
                    ": was expecting closing quote for a string value"
                }));
            };
            match c {
                '"' => return Ok(()),
                '\\' => self.escape()?,
                c if u32::from(c) < 0x20 => {
                    return Err(self.error(format!(
                        "Illegal unquoted character ({}): has to be escaped using backslash to \
                         be included in {}",
                        char_desc(c),
                        if name { "name" } else { "string value" }
                    )));
                }
                _ => {}
            }
        }
    }

    fn escape(&mut self) -> Step<()> {
        let Some(c) = self.bump() else {
            return Err(self.eof(" in character escape sequence"));
        };
        match c {
            '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' => Ok(()),
            'u' => {
                for _ in 0..4 {
                    match self.bump() {
                        Some(h) if h.is_ascii_hexdigit() => {}
                        Some(h) => {
                            return Err(self.unexpected(
                                h,
                                "expected a hex-digit for character escape sequence",
                            ));
                        }
                        None => return Err(self.eof(" in character escape sequence")),
                    }
                }
                Ok(())
            }
            c => Err(self.error(format!("Unrecognized character escape {}", char_desc(c)))),
        }
    }

    /// After the first complete value only white space may follow.
    fn trailing(&mut self) -> Step<()> {
        let Some(c) = self.skip_space()? else {
            return Ok(());
        };
        let (line, column) = (self.line, self.column() - 1);
        let token = match c {
            ']' | '}' => return self.close(c),
            '{' => "START_OBJECT",
            '[' => "START_ARRAY",
            '"' => {
                self.string(false)?;
                "VALUE_STRING"
            }
            't' => {
                self.literal("true")?;
                "VALUE_TRUE"
            }
            'f' => {
                self.literal("false")?;
                "VALUE_FALSE"
            }
            'n' => {
                self.literal("null")?;
                "VALUE_NULL"
            }
            '-' | '0'..='9' => {
                let start = self.pos - 1;
                self.number(c)?;
                if self.chars[start..self.pos]
                    .iter()
                    .any(|c| matches!(c, '.' | 'e' | 'E'))
                {
                    "VALUE_NUMBER_FLOAT"
                } else {
                    "VALUE_NUMBER_INT"
                }
            }
            c => return self.value(c),
        };
        Err(self.error_at(
            format!(
                "Trailing token (of type {token}) found after value (bound as \
                 `com.fasterxml.jackson.databind.JsonNode`): not allowed as per \
                 `DeserializationFeature.FAIL_ON_TRAILING_TOKENS`"
            ),
            line,
            column,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> JsonTextError {
        parse(text).expect_err("the text is malformed")
    }

    // Corpus: test_sfn_api_validation.py::test_validate_state_machine_definition_not_a_definition
    // [NOT_A_DEF] (INVALID_JSON_DESCRIPTION).
    #[test]
    fn unrecognized_token_matches_aws() {
        let e = err("not a definition");
        assert_eq!(
            e.message,
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token \
             'null', 'true' or 'false')"
        );
        assert_eq!(
            e.location,
            "[Source: (String)\"not a definition\"; line: 1, column: 4]"
        );
        assert_eq!(
            e.full_message(),
            "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token \
             'null', 'true' or 'false')\n at [Source: (String)\"not a definition\"; line: 1, \
             column: 4]"
        );
    }

    // Corpus: test_sfn_api.py::test_invalid_start_execution_input (start_exec_str_inp,
    // start_exec_not_json_inp, start_res_empty).
    #[test]
    fn execution_input_causes_match_aws() {
        assert_eq!(
            parse_execution_input("not some json").expect_err("malformed"),
            "Invalid State Machine Execution Input: 'Unrecognized token 'not': was expecting \
             (JSON String, Number, Array, Object or token 'null', 'true' or 'false')'"
        );
        assert_eq!(
            parse_execution_input("{'not': 'json'").expect_err("malformed"),
            "Invalid State Machine Execution Input: 'Unexpected character (''' (code 39)): was \
             expecting double-quote to start field name'"
        );
        assert_eq!(
            parse_execution_input("").expect_err("empty"),
            "Invalid State Machine Execution Input: 'Invalid execution input.'"
        );
        assert_eq!(
            parse_execution_input("{\"a\": [1, 2]}").expect("valid"),
            serde_json::json!({"a": [1, 2]})
        );
    }

    #[test]
    fn unexpected_character_location_is_after_the_character() {
        let e = err("{'not': 'json'");
        assert_eq!(
            e.location,
            "[Source: (String)\"{'not': 'json'\"; line: 1, column: 3]"
        );
    }

    #[test]
    fn valid_text_parses() {
        assert_eq!(
            parse(" {\"a\": null} ").expect("valid"),
            serde_json::json!({"a": null})
        );
        assert_eq!(parse("12").expect("valid"), serde_json::json!(12));
    }

    #[test]
    fn end_of_input_names_the_open_scope() {
        assert_eq!(
            err("{\"a\": 1").full_message(),
            "Unexpected end-of-input: expected close marker for Object (start marker at \
             [Source: (String)\"{\"a\": 1\"; line: 1, column: 1])\n at [Source: (String)\"{\"a\": \
             1\"; line: 1, column: 8]"
        );
        assert_eq!(
            err("[1, [2").message,
            "Unexpected end-of-input: expected close marker for Array (start marker at [Source: \
             (String)\"[1, [2\"; line: 1, column: 5])"
        );
        assert_eq!(
            err("[1,").message,
            "Unexpected end-of-input within/between Array entries"
        );
        assert_eq!(
            err("{\"a\"").message,
            "Unexpected end-of-input within/between Object entries"
        );
        assert_eq!(
            err("\"abc").message,
            "Unexpected end-of-input: was expecting closing quote for a string value"
        );
        assert_eq!(
            err("{\"ab").message,
            "Unexpected end-of-input in field name"
        );
    }

    #[test]
    fn separators_and_values() {
        assert_eq!(
            err("{\"a\" 1}").message,
            "Unexpected character ('1' (code 49)): was expecting a colon to separate field name \
             and value"
        );
        assert_eq!(
            err("[1 2]").message,
            "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries"
        );
        assert_eq!(
            err("{\"a\": 1 \"b\": 2}").message,
            "Unexpected character ('\"' (code 34)): was expecting comma to separate Object \
             entries"
        );
        assert_eq!(
            err("{\"a\": 1,}").message,
            "Unexpected character ('}' (code 125)): was expecting double-quote to start field \
             name"
        );
        assert_eq!(
            err("[1,]").message,
            "Unexpected character (']' (code 93)): expected a valid value (JSON String, Number, \
             Array, Object or token 'null', 'true' or 'false')"
        );
        assert_eq!(
            err("{\"a\": }").message,
            "Unexpected character ('}' (code 125)): expected a value"
        );
        assert_eq!(
            err("[tru]").message,
            "Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or \
             token 'null', 'true' or 'false')"
        );
        assert_eq!(
            err("[True]").message,
            "Unrecognized token 'True': was expecting (JSON String, Number, Array, Object or \
             token 'null', 'true' or 'false')"
        );
        assert_eq!(
            err("{\"a\": 'b'}").message,
            "Unexpected character (''' (code 39)): expected a valid value (JSON String, Number, \
             Array, Object or token 'null', 'true' or 'false')"
        );
    }

    #[test]
    fn strings_numbers_and_space() {
        assert_eq!(
            err("\"a\\x\"").message,
            "Unrecognized character escape 'x' (code 120)"
        );
        assert_eq!(
            err("\"a\nb\"").message,
            "Illegal unquoted character ((CTRL-CHAR, code 10)): has to be escaped using \
             backslash to be included in string value"
        );
        assert_eq!(
            err("[01]").message,
            "Invalid numeric value: Leading zeroes not allowed"
        );
        assert_eq!(
            err("[-x]").message,
            "Unexpected character ('x' (code 120)) in numeric value: expected digit (0-9) to \
             follow minus sign, for valid numeric value"
        );
        assert_eq!(
            err("[1.x]").message,
            "Unexpected character ('x' (code 120)) in numeric value: Decimal point not followed \
             by a digit"
        );
        assert_eq!(
            err("12abc").message,
            "Unexpected character ('a' (code 97)): Expected space separating root-level values"
        );
        assert_eq!(
            err("[NaN]").message,
            "Non-standard token 'NaN': enable JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to \
             allow"
        );
        assert!(
            err("// c\n{}")
                .message
                .starts_with("Unexpected character ('/' (code 47)): maybe")
        );
    }

    #[test]
    fn lines_and_columns_follow_java() {
        let e = err("{\r\n  \"a\": x\n}");
        assert_eq!(
            e.location.rsplit_once(';').map(|(_, l)| l),
            Some(" line: 2, column: 9]")
        );
        // Columns count UTF-16 units: the emoji is two.
        let e = err("[\"😀\", x]");
        assert_eq!(
            e.location.rsplit_once(';').map(|(_, l)| l),
            Some(" line: 1, column: 9]")
        );
    }

    #[test]
    fn trailing_content_and_empty_text() {
        assert_eq!(
            err("{} x").message,
            "Unrecognized token 'x': was expecting (JSON String, Number, Array, Object or token \
             'null', 'true' or 'false')"
        );
        let e = err("{} {}");
        assert!(
            e.message
                .starts_with("Trailing token (of type START_OBJECT) found after value")
        );
        assert_eq!(
            e.location,
            "[Source: (String)\"{} {}\"; line: 1, column: 4]"
        );
        let e = err("  ");
        assert_eq!(e.message, "No content to map due to end-of-input");
        assert_eq!(e.location, "[Source: (String)\"  \"; line: 1, column: 0]");
    }

    #[test]
    fn long_sources_are_truncated_and_controls_escaped() {
        let text = format!("[{}", "1,".repeat(300));
        let e = err(&text);
        assert!(
            e.location
                .contains("\"[truncated 101 chars]; line: 1, column: 602]")
        );
        let e = err("\u{1}");
        assert_eq!(
            e.full_message(),
            "Illegal character ((CTRL-CHAR, code 1)): only regular white space (\\r, \\n, \\t) \
             is allowed between tokens\n at [Source: (String)\"\\u0001\"; line: 1, column: 2]"
        );
    }

    #[test]
    fn duplicate_keys_are_found_with_their_object() {
        assert_eq!(
            duplicate_keys(r#"{"States": {"A": 1, "B": [{"x": 1, "x": 2}], "A": 3}}"#),
            [
                DuplicateKey {
                    object: "/States/B[0]".to_string(),
                    key: "x".to_string()
                },
                DuplicateKey {
                    object: "/States".to_string(),
                    key: "A".to_string()
                },
            ]
        );
        assert!(duplicate_keys("{").is_empty());
    }

    proptest::proptest! {
        /// The scanner accepts exactly what `serde_json` accepts, so a parse failure always gets
        /// Jackson's wording rather than the fallback.
        #[test]
        fn scanner_agrees_with_serde(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "[", "]", ",", ":", " ", "\n", "\"a\"", "\"", "1", "-", "0",
                    ".5", "e", "true", "nul", "x", "\\", "\\u00e9", "'", "/",
                ]),
                0..12,
            )
        ) {
            let text: String = parts.concat();
            let serde_ok = serde_json::from_str::<Value>(&text).is_ok();
            let scanner_ok = Scanner::new(&text).check().is_ok();
            proptest::prop_assert_eq!(serde_ok, scanner_ok, "text: {:?}", text);
        }
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let text = "[".repeat(200_000);
        assert!(err(&text).message.starts_with("Unexpected end-of-input"));
    }
}
