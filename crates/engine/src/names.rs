//! The resource names SQS, SNS and Lambda share a rule for: ASCII letters, digits, hyphens and
//! underscores, with `.fifo` after them for a FIFO queue or topic.

/// Whether `name` is 1 to `max` ASCII letters, digits, hyphens and underscores.
pub(crate) fn is_plain(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks the name of a queue or topic: at most `max` characters in all, letters, digits,
/// hyphens and underscores (at least one), then `.fifo` for a FIFO one. `Some(fifo)` for a
/// valid name, `None` otherwise.
pub(crate) fn fifo_name(name: &str, max: usize) -> Option<bool> {
    let (base, fifo) = match name.strip_suffix(".fifo") {
        Some(base) => (base, true),
        None => (name, false),
    };
    (name.len() <= max && is_plain(base, max)).then_some(fifo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_names_count_their_suffix_toward_the_limit() {
        assert_eq!(fifo_name("orders", 80), Some(false));
        assert_eq!(fifo_name("orders.fifo", 80), Some(true));
        assert_eq!(fifo_name(&"a".repeat(80), 80), Some(false));
        assert_eq!(
            fifo_name(&format!("{}.fifo", "a".repeat(75)), 80),
            Some(true)
        );
        assert_eq!(fifo_name(&format!("{}.fifo", "a".repeat(76)), 80), None);
        for bad in ["", ".fifo", "a.b", "a b", "a.fifo.fifo"] {
            assert_eq!(fifo_name(bad, 80), None, "{bad:?}");
        }
    }
}
