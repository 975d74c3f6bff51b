//! Composite alarm rules: `ALARM("a")`, `OK("b")`, `INSUFFICIENT_DATA("c")`, `TRUE`, `FALSE`,
//! joined with `AND`, `OR`, `NOT` and parentheses (`NOT` binds tightest, then `AND`, then
//! `OR`, as in CloudWatch). Alarm names are quoted (`"a"`) or bare up to the closing parenthesis.

use super::AlarmState;

/// A parsed alarm rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// `TRUE` or `FALSE`.
    Constant(bool),
    /// `STATE("name")`: true when the alarm named is in that state.
    Is(AlarmState, String),
    /// `NOT rule`.
    Not(Box<Rule>),
    /// `a AND b`.
    And(Box<Rule>, Box<Rule>),
    /// `a OR b`.
    Or(Box<Rule>, Box<Rule>),
}

impl Rule {
    /// Parses a rule; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let mut parser = Parser { text, at: 0 };
        let rule = parser.or()?;
        parser.space();
        if parser.at < text.len() {
            return Err(format!(
                "Unexpected text at position {}: {}",
                parser.at,
                &text[parser.at..]
            ));
        }
        Ok(rule)
    }

    /// The alarm names the rule refers to, in order.
    pub fn alarms(&self) -> Vec<&str> {
        match self {
            Rule::Constant(_) => Vec::new(),
            Rule::Is(_, name) => vec![name.as_str()],
            Rule::Not(r) => r.alarms(),
            Rule::And(a, b) | Rule::Or(a, b) => {
                let mut names = a.alarms();
                names.extend(b.alarms());
                names
            }
        }
    }

    /// Whether the rule holds, given each alarm's state (`None`: no such alarm, matching no
    /// state).
    pub fn holds(&self, state_of: &dyn Fn(&str) -> Option<AlarmState>) -> bool {
        match self {
            Rule::Constant(b) => *b,
            Rule::Is(state, name) => state_of(name) == Some(*state),
            Rule::Not(r) => !r.holds(state_of),
            Rule::And(a, b) => a.holds(state_of) && b.holds(state_of),
            Rule::Or(a, b) => a.holds(state_of) || b.holds(state_of),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Consumes `word` when it comes next (a keyword must not run into a name character).
    fn keyword(&mut self, word: &str) -> bool {
        self.space();
        let rest = self.rest();
        let ends = rest[word.len().min(rest.len())..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        if rest.starts_with(word) && ends {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn symbol(&mut self, symbol: char) -> bool {
        self.space();
        if self.rest().starts_with(symbol) {
            self.at += symbol.len_utf8();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Rule, String> {
        let mut rule = self.and()?;
        while self.keyword("OR") {
            rule = Rule::Or(Box::new(rule), Box::new(self.and()?));
        }
        Ok(rule)
    }

    fn and(&mut self) -> Result<Rule, String> {
        let mut rule = self.not()?;
        while self.keyword("AND") {
            rule = Rule::And(Box::new(rule), Box::new(self.not()?));
        }
        Ok(rule)
    }

    fn not(&mut self) -> Result<Rule, String> {
        if self.keyword("NOT") {
            return Ok(Rule::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Rule, String> {
        if self.symbol('(') {
            let rule = self.or()?;
            if !self.symbol(')') {
                return Err(format!("Expected ')' at position {}", self.at));
            }
            return Ok(rule);
        }
        for (word, value) in [("TRUE", true), ("FALSE", false)] {
            if self.keyword(word) {
                return Ok(Rule::Constant(value));
            }
        }
        for state in [
            AlarmState::InsufficientData,
            AlarmState::Alarm,
            AlarmState::Ok,
        ] {
            if self.keyword(state.as_str()) {
                if !self.symbol('(') {
                    return Err(format!(
                        "Expected '(' after {} at position {}",
                        state.as_str(),
                        self.at
                    ));
                }
                let name = self.name()?;
                if !self.symbol(')') {
                    return Err(format!("Expected ')' at position {}", self.at));
                }
                return Ok(Rule::Is(state, name));
            }
        }
        Err(format!(
            "Expected ALARM, OK, INSUFFICIENT_DATA, TRUE, FALSE, NOT or '(' at position {}",
            self.at
        ))
    }

    fn name(&mut self) -> Result<String, String> {
        self.space();
        let rest = self.rest();
        let (name, used) = if let Some(quoted) = rest.strip_prefix('"') {
            let Some(end) = quoted.find('"') else {
                return Err(format!("Unterminated alarm name at position {}", self.at));
            };
            (quoted[..end].to_string(), end + 2)
        } else {
            let end = rest.find(')').unwrap_or(rest.len());
            (rest[..end].trim().to_string(), end)
        };
        if name.is_empty() {
            return Err(format!("Empty alarm name at position {}", self.at));
        }
        self.at += used;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_hold() {
        let rule = Rule::parse(r#"ALARM("a") AND NOT (OK(b) OR INSUFFICIENT_DATA("c"))"#)
            .expect("a valid rule");
        assert_eq!(rule.alarms(), ["a", "b", "c"]);
        let states = |a, b, c| {
            move |name: &str| match name {
                "a" => Some(a),
                "b" => Some(b),
                "c" => Some(c),
                _ => None,
            }
        };
        use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};
        assert!(rule.holds(&states(A, A, A)));
        assert!(!rule.holds(&states(A, O, A)));
        assert!(!rule.holds(&states(A, A, I)));
        assert!(!rule.holds(&states(O, A, A)));
        assert!(Rule::parse("ALARM(a) OR").is_err());
        assert!(Rule::parse("BAD(a)").is_err());
        assert_eq!(Rule::parse("TRUE"), Ok(Rule::Constant(true)));
    }
}
