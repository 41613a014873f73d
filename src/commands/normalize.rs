//! What chat clients put around a command before the command itself: mentions of the bot,
//! a slash, and the full-width forms Chinese input methods type.

/// Full-width ASCII (U+FF01..U+FF5E) and the ideographic space, as typed with a Chinese input
/// method left in full-width mode (`完成 １２`, `进展 ４ ６０％`), folded to ASCII.
pub(crate) fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Removes, at the start of a message, any number of bot mentions and a leading `/` or `／`,
/// and surrounding whitespace.
///
/// Mentions arrive differently per platform: `@名字 ` as typed (DingTalk, WeCom), `@_user_1`
/// (Feishu text), `<at user_id="…">…</at>` (Feishu/Lark rich text, Teams), `<@U123>` (Slack,
/// Discord). Every such token at the start is taken to address the bot: a command never starts
/// with a mention of someone else, and a user who @s a colleague first still means the command.
pub(crate) fn strip_preamble(text: &str) -> &str {
    let mut s = text;
    loop {
        let before = s.len();
        s = s.trim_start();
        if let Some(rest) = s.strip_prefix(['/', '／']) {
            s = rest;
        } else if let Some(rest) = strip_mention(s) {
            s = rest;
        }
        if s.len() == before {
            return s.trim_end();
        }
    }
}

/// The text after one mention token at the start of `s`, if `s` starts with one.
fn strip_mention(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix(['@', '＠']) {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        return Some(&rest[end..]);
    }
    if let Some(rest) = s.strip_prefix("<@") {
        let end = rest.find('>')?;
        return Some(&rest[end + 1..]);
    }
    // `<at …>name</at>` or `<at …/>`; the tag name is matched case-insensitively because Teams
    // and Lark disagree on it. `get` keeps the slice on a char boundary.
    let head = s.get(..3)?;
    if !head.eq_ignore_ascii_case("<at") {
        return None;
    }
    let after = s.get(3..)?;
    if !after.starts_with([' ', '>', '/']) {
        return None;
    }
    // Every search stops at the next `<`, never at the end of the text: a message of many
    // mentions is then read once. Searching the whole rest for `</at>` (and lower-casing it)
    // per mention made 60 KB of `<at >` take 1.45 s.
    let tag_end = after.find('>')?;
    let rest = &after[tag_end + 1..];
    if after[..tag_end].ends_with('/') {
        return Some(rest);
    }
    let name_end = rest.find('<').unwrap_or(rest.len());
    let close = rest.get(name_end..name_end + "</at>".len());
    match close {
        Some(c) if c.eq_ignore_ascii_case("</at>") => rest.get(name_end + "</at>".len()..),
        _ => Some(rest),
    }
}

/// Guesses the language of text that is not a command, so the help comes back in the
/// language the person wrote in.
pub(crate) fn guess_is_chinese(s: &str) -> Option<bool> {
    if s.chars().any(is_cjk) {
        Some(true)
    } else if s.chars().any(|c| fold_width(c).is_ascii_alphabetic()) {
        Some(false)
    } else {
        None
    }
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_forms_fold_to_ascii() {
        let folded: String = "ｄｏｎｅ　１２％＃Ａ－３：，"
            .chars()
            .map(fold_width)
            .collect();
        assert_eq!(folded, "done 12%#A-3:,");
        assert_eq!(fold_width('完'), '完');
        assert_eq!(fold_width('、'), '、');
    }

    #[test]
    fn mentions_and_slashes_are_stripped_from_the_start_only() {
        for (input, want) in [
            ("  done 12  ", "done 12"),
            ("/done 12", "done 12"),
            ("／完成 12", "完成 12"),
            ("@weekbell done 12", "done 12"),
            ("@周报助手 @孙强 完成 12", "完成 12"),
            ("＠周报助手　完成 12", "完成 12"),
            ("<@U123ABC> done 12", "done 12"),
            ("<@U123ABC|weekbell> /done 12", "done 12"),
            ("@_user_1 完成 12", "完成 12"),
            ("<at user_id=\"ou_abc\">weekbell</at> 完成 12", "完成 12"),
            ("<AT id=0>weekbell</AT>done 12", "done 12"),
            ("<at user_id=\"x\"/> done 12", "done 12"),
            (
                "<at id=1/> done 12 <at id=2>Bob</at>",
                "done 12 <at id=2>Bob</at>",
            ),
            ("<at id=1>weekbell done 12", "weekbell done 12"),
            ("done 12 @weekbell", "done 12 @weekbell"),
            ("<atom> done", "<atom> done"),
            ("<@unterminated done", "<@unterminated done"),
            ("@weekbell", ""),
            ("", ""),
        ] {
            assert_eq!(strip_preamble(input), want, "{input:?}");
        }
    }

    #[test]
    fn sixty_kilobytes_of_mentions_are_stripped_in_one_pass() {
        // Used to be quadratic: 1.45 s for this text. Linear, it is a few hundred
        // microseconds; the figure is in BENCHMARKS.md, not asserted here.
        let text = format!("{}done 12", "<at >".repeat(12 * 1024));
        assert_eq!(text.len(), 60 * 1024 + "done 12".len());
        assert_eq!(strip_preamble(&text), "done 12");
        let unterminated = "<AT id=0>".repeat(7 * 1024);
        assert_eq!(strip_preamble(&unterminated), "");
    }

    #[test]
    fn language_is_guessed_from_the_script() {
        assert_eq!(guess_is_chinese("你好"), Some(true));
        assert_eq!(guess_is_chinese("hello 你好"), Some(true));
        assert_eq!(guess_is_chinese("hello"), Some(false));
        assert_eq!(guess_is_chinese("１２ ?"), None);
    }
}
