//! Turning what a person types into a search box into an FTS5 query that cannot fail.
//!
//! User text is never passed as FTS5 syntax: it is split into words (letters and digits),
//! and each word becomes a quoted prefix term, so `AND`, `NEAR`, `*`, `:`, quotes and
//! parentheses are just text. Text in double quotes is kept together as a phrase.

/// At most this many terms are used; a pasted page of text should not become a huge query.
const MAX_TERMS: usize = 16;

/// One term of a search, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A word outside quotes: it matches as a prefix (what typing a word gives).
    Prefix(String),
    /// Words in double quotes: they match one after another.
    Phrase(Vec<String>),
}

impl Term {
    /// The term as FTS5 syntax, every word quoted.
    pub fn fts(&self) -> String {
        match self {
            Term::Prefix(w) => format!("\"{w}\"*"),
            Term::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
        }
    }
}

/// The terms of `input` (all must match: FTS5's implicit AND), at most 16.
pub fn terms(input: &str) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::new();
    // Split on double quotes: odd-numbered pieces were inside quotes. An unbalanced quote
    // simply makes the rest one phrase.
    for (i, piece) in input.split('"').enumerate() {
        let words = words(piece);
        if words.is_empty() {
            continue;
        }
        if i % 2 == 1 {
            terms.push(Term::Phrase(words));
        } else {
            terms.extend(words.into_iter().map(Term::Prefix));
        }
    }
    terms.truncate(MAX_TERMS);
    terms
}

/// The FTS5 query for `input`, or `None` when it holds no word to search for.
pub fn fts_query(input: &str) -> Option<String> {
    let terms = terms(input);
    (!terms.is_empty()).then(|| terms.iter().map(Term::fts).collect::<Vec<_>>().join(" "))
}

/// The words of `text`, as the `unicode61` tokenizer would see them (runs of letters and
/// digits); they never contain a quote, so quoting them is safe.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(64).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_quoted_prefix_terms() {
        assert_eq!(fts_query("shop timer").as_deref(), Some("\"shop\"* \"timer\"*"));
    }

    #[test]
    fn quoted_text_stays_a_phrase() {
        assert_eq!(
            fts_query("\"hidden cancel\" button").as_deref(),
            Some("\"hidden cancel\" \"button\"*")
        );
    }

    #[test]
    fn operators_and_syntax_are_plain_words() {
        assert_eq!(
            fts_query("a AND (b OR NOT c*) NEAR: x").as_deref(),
            Some("\"a\"* \"AND\"* \"b\"* \"OR\"* \"NOT\"* \"c\"* \"NEAR\"* \"x\"*")
        );
        assert_eq!(fts_query("\"unbalanced").as_deref(), Some("\"unbalanced\""));
    }

    #[test]
    fn nothing_searchable_gives_none() {
        for empty in ["", "   ", "\"\"", "*:()", "\""] {
            assert_eq!(fts_query(empty), None, "{empty:?}");
        }
    }
}
