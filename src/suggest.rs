//! "Did you mean": the known word closest to a mistyped one, for config keys, time zones and
//! chat commands.

/// The candidate closest to `word`, ignoring case and `-`/`_`, if it is near enough to be a
/// typo: at most one edit per three characters (at least one), so `dne` finds `done` and
/// `完城` finds `完成` but an unrelated word finds nothing. Counted in characters (strsim works
/// on `char`s), so a Chinese word is not penalised for its three-byte characters.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let fold = |s: &str| s.to_lowercase().replace('-', "_");
    let word = fold(word);
    let allowed = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(&word, &fold(c)), c))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn a_typo_finds_the_word_it_was_meant_to_be() {
        assert_eq!(closest("dne", ["done", "help", "list"]), Some("done"));
        assert_eq!(closest("完城", ["完成", "帮助"]), Some("完成"));
        assert_eq!(
            closest("signing-secret", ["signing_secret", "secret"]),
            Some("signing_secret")
        );
        assert_eq!(closest("Webhook", ["webhook", "secret"]), Some("webhook"));
    }

    #[test]
    fn an_unrelated_word_finds_nothing() {
        assert_eq!(closest("banana", ["done", "help", "list"]), None);
        assert_eq!(closest("你好", ["完成", "帮助"]), None);
    }
}
