//! The parser of intrinsic calls: text in, a [`Call`] tree or a reason naming the character out.
//!
//! Positions in messages count characters (not bytes) from 1.

use super::{Function, MAX_NESTING};
use crate::path::Path;
use serde_json::Number;

/// A call: the function and its arguments as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    pub(super) function: Function,
    pub(super) args: Vec<Arg>,
}

/// One argument of a call.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Arg {
    /// A single-quoted string.
    Str(StrLit),
    /// A number.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// A path.
    Path(PathArg),
    /// A nested call.
    Call(Call),
}

/// A string literal: its value and the text between the quotes, escapes included (which
/// `States.Format` needs to tell `\{` from a placeholder).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StrLit {
    pub(super) value: String,
    pub(super) raw: String,
}

/// A path argument and its text as written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PathArg {
    pub(super) text: String,
    pub(super) path: Path,
}

/// Parses a whole call; surrounding whitespace is allowed.
pub(super) fn parse(text: &str) -> Result<Call, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    p.skip_ws();
    if !p.starts_with("States.") {
        return Err(format!(
            "an intrinsic function call starts with 'States.' (at character {})",
            p.pos + 1
        ));
    }
    let call = p.call(1)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(call),
        Some(c) => Err(format!(
            "unexpected '{c}' after the end of the call at character {}",
            p.pos + 1
        )),
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        let mut rest = self.chars.get(self.pos..).unwrap_or_default().iter();
        s.chars().all(|c| rest.next() == Some(&c))
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn slice(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().collect()
    }

    /// `States.Name(args)`; the cursor is on the `S`.
    fn call(&mut self, depth: usize) -> Result<Call, String> {
        let start = self.pos;
        if depth > MAX_NESTING {
            return Err(format!(
                "intrinsic functions nest at most {MAX_NESTING} deep; the call at character {} is \
                 nested {depth} deep",
                start + 1
            ));
        }
        self.pos += "States.".len();
        let name_start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        if self.pos == name_start {
            return Err(format!(
                "expected a function name after 'States.' at character {}",
                name_start + 1
            ));
        }
        let name = self.slice(start, self.pos);
        let function = Function::from_name(&name).ok_or_else(|| {
            format!(
                "unknown intrinsic function '{name}' at character {}",
                start + 1
            )
        })?;
        if self.peek() != Some('(') {
            return Err(format!(
                "expected '(' after '{name}' at character {}",
                self.pos + 1
            ));
        }
        let open = self.pos;
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
            return Ok(Call { function, args });
        }
        loop {
            self.skip_ws();
            args.push(self.arg(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(')') => {
                    self.pos += 1;
                    return Ok(Call { function, args });
                }
                Some(c) => {
                    return Err(format!(
                        "expected ',' or ')' at character {} but found '{c}'",
                        self.pos + 1
                    ));
                }
                None => {
                    return Err(format!(
                        "missing ')' to close the '(' of '{name}' at character {}",
                        open + 1
                    ));
                }
            }
        }
    }

    fn arg(&mut self, depth: usize) -> Result<Arg, String> {
        let Some(c) = self.peek() else {
            return Err(format!(
                "expected an argument at character {} but the text ended",
                self.pos + 1
            ));
        };
        match c {
            '\'' => self.string().map(Arg::Str),
            '$' => self.path().map(Arg::Path),
            '-' | '0'..='9' => self.number().map(Arg::Number),
            _ if self.starts_with("States.") => self.call(depth + 1).map(Arg::Call),
            _ if c.is_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                {
                    self.pos += 1;
                }
                match self.slice(start, self.pos).as_str() {
                    "true" => Ok(Arg::Bool(true)),
                    "false" => Ok(Arg::Bool(false)),
                    "null" => Ok(Arg::Null),
                    word => Err(format!(
                        "unexpected '{word}' at character {}; an argument is a 'string', a number, \
                         true, false, null, a path starting with '$' or a States. call",
                        start + 1
                    )),
                }
            }
            ',' | ')' => Err(format!(
                "expected an argument at character {} but found '{c}'",
                self.pos + 1
            )),
            _ => Err(format!(
                "unexpected '{c}' at character {}; an argument is a 'string', a number, true, \
                 false, null, a path starting with '$' or a States. call",
                self.pos + 1
            )),
        }
    }

    /// `'...'`; the cursor is on the opening quote.
    fn string(&mut self) -> Result<StrLit, String> {
        let start = self.pos;
        self.pos += 1;
        let (mut value, mut raw) = (String::new(), String::new());
        loop {
            match self.peek() {
                None => {
                    return Err(format!(
                        "unterminated string starting at character {}",
                        start + 1
                    ));
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(StrLit { value, raw });
                }
                Some('\\') => {
                    let Some(next) = self.chars.get(self.pos + 1).copied() else {
                        return Err(format!(
                            "unterminated string starting at character {}",
                            start + 1
                        ));
                    };
                    if !matches!(next, '\'' | '{' | '}' | '\\') {
                        return Err(format!(
                            "invalid escape sequence '\\{next}' at character {}; only \\', \\{{, \
                             \\}} and \\\\ may follow a backslash in a string",
                            self.pos + 1
                        ));
                    }
                    value.push(next);
                    raw.push('\\');
                    raw.push(next);
                    self.pos += 2;
                }
                Some(c) => {
                    value.push(c);
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A JSON number; the cursor is on `-` or a digit.
    fn number(&mut self) -> Result<Number, String> {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && c != ',' && c != ')')
        {
            self.pos += 1;
        }
        let token = self.slice(start, self.pos);
        if !is_json_number(&token) {
            return Err(format!(
                "invalid number '{token}' at character {}",
                start + 1
            ));
        }
        serde_json::from_str::<Number>(&token).map_err(|_| {
            format!(
                "number '{token}' at character {} is out of range",
                start + 1
            )
        })
    }

    /// A path; it ends before whitespace, `,` or `)` outside brackets, parentheses and quotes.
    fn path(&mut self) -> Result<PathArg, String> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            if let Some(q) = quote {
                if c == '\\' {
                    self.pos += 1;
                } else if c == q {
                    quote = None;
                }
            } else {
                match c {
                    '\'' | '"' if depth > 0 => quote = Some(c),
                    '[' | '(' => depth += 1,
                    ']' | ')' if depth > 0 => depth -= 1,
                    ',' | ')' if depth == 0 => break,
                    _ if depth == 0 && c.is_whitespace() => break,
                    _ => {}
                }
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.chars.len());
        let text = self.slice(start, end);
        match Path::parse(&text) {
            Ok(path) => Ok(PathArg { text, path }),
            Err(e) => Err(format!(
                "invalid path '{text}' at character {}: {e}",
                start + 1
            )),
        }
    }
}

/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let digits = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits {
            return false;
        }
    }
    i == b.len()
}
