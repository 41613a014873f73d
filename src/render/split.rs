//! Splitting a long message into numbered parts that each fit the platform's size limit.
//!
//! Rules, in order of priority:
//! 1. nothing is lost and order is kept: stripping each part's prefix line and joining the
//!    parts gives back every original line, in order;
//! 2. every part, prefix line included, is within the limit (for any limit of at least
//!    [`MIN_LIMIT`]);
//! 3. parts break at line boundaries, preferably at a blank line (a section boundary) when that
//!    still fills at least half a part;
//! 4. a single line longer than a part is hard-wrapped at character boundaries, and not inside
//!    one of the `protect`ed tokens (mentions) unless the token itself is longer than a part.
//!
//! A message that fits is returned unchanged, as one part without a prefix.

use super::markup::SizeLimit;

/// Smaller limits are raised to this: a part must hold its `(i/n)` prefix and some text.
pub const MIN_LIMIT: usize = 32;

/// The default prefix line, `(i/n)`, the same in Chinese and English.
pub fn default_prefix(part: usize, parts: usize) -> String {
    format!("({part}/{parts})")
}

/// Splits `text` with the default `(i/n)` prefix. See the module docs.
pub fn split(text: &str, limit: Option<SizeLimit>, protect: &[String]) -> Vec<String> {
    split_with(text, limit, protect, &default_prefix)
}

/// Splits `text`; `prefix(i, n)` gives the first line of part `i` of `n`. Its size must not grow
/// when `i` or `n` shrink (true of `(i/n)`-like formats).
pub fn split_with(
    text: &str,
    limit: Option<SizeLimit>,
    protect: &[String],
    prefix: &dyn Fn(usize, usize) -> String,
) -> Vec<String> {
    let Some(limit) = limit else {
        return vec![text.to_string()];
    };
    let limit = limit.with_value(limit.value().max(MIN_LIMIT));
    if limit.fits(text) {
        return vec![text.to_string()];
    }
    // The prefix's width depends on the number of parts, which depends on the room the prefix
    // leaves: try 1-digit part counts, then 2-digit ones, and so on.
    let mut chunks = Vec::new();
    for digits in 1..=19u32 {
        let Some(widest) = 10usize.checked_pow(digits).map(|p| p - 1) else {
            break;
        };
        let prefix_cost = limit.measure(&prefix(widest, widest)) + 1;
        let budget = limit.value().saturating_sub(prefix_cost).max(1);
        chunks = pack(text, limit, budget, protect);
        if chunks.len() <= widest {
            break;
        }
    }
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let mut p = prefix(i + 1, n);
            p.push('\n');
            p.push_str(&body);
            p
        })
        .collect()
}

/// Packs the lines of `text` into bodies of at most `budget` units each.
fn pack(text: &str, limit: SizeLimit, budget: usize, protect: &[String]) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Part::default();
    for line in text.split('\n') {
        let cost = limit.measure(line);
        if cost > budget {
            cur.flush_into(&mut parts);
            let mut pieces = hard_wrap(line, limit, budget, protect);
            let last = pieces.pop().unwrap_or_default();
            parts.extend(pieces.into_iter().map(str::to_string));
            cur.push(last, limit.measure(last));
            continue;
        }
        if !cur.lines.is_empty() && cur.size + 1 + cost > budget {
            let carry = cur.cut_at_section(budget);
            cur.flush_into(&mut parts);
            for (l, c) in carry {
                cur.push(l, c);
            }
            if !cur.lines.is_empty() && cur.size + 1 + cost > budget {
                cur.flush_into(&mut parts);
            }
        }
        cur.push(line, cost);
    }
    cur.flush_into(&mut parts);
    parts
}

#[derive(Default)]
struct Part<'t> {
    lines: Vec<(&'t str, usize)>,
    /// Lines plus the newlines between them.
    size: usize,
}

impl<'t> Part<'t> {
    fn push(&mut self, line: &'t str, cost: usize) {
        if !self.lines.is_empty() {
            self.size += 1;
        }
        self.size += cost;
        self.lines.push((line, cost));
    }

    fn flush_into(&mut self, parts: &mut Vec<String>) {
        if self.lines.is_empty() {
            return;
        }
        let body = self
            .lines
            .iter()
            .map(|l| l.0)
            .collect::<Vec<_>>()
            .join("\n");
        parts.push(body);
        self.lines.clear();
        self.size = 0;
    }

    /// When the part is full, moves the lines after its last blank line out (to start the next
    /// part) if what stays still fills half the budget, so sections are not torn apart.
    fn cut_at_section(&mut self, budget: usize) -> Vec<(&'t str, usize)> {
        let Some(blank) = self.lines.iter().rposition(|l| l.0.trim().is_empty()) else {
            return Vec::new();
        };
        if blank == 0 || blank + 1 == self.lines.len() {
            return Vec::new();
        }
        let kept: usize = self.lines[..=blank].iter().map(|l| l.1).sum::<usize>() + blank;
        if kept * 2 < budget {
            return Vec::new();
        }
        let carry = self.lines.split_off(blank + 1);
        self.size = kept;
        carry
    }
}

/// Cuts one over-long line into pieces of at most `budget` units at char boundaries, moving a
/// cut that would fall inside a protected token to the token's start.
fn hard_wrap<'t>(
    line: &'t str,
    limit: SizeLimit,
    budget: usize,
    protect: &[String],
) -> Vec<&'t str> {
    let tokens = token_ranges(line, protect);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < line.len() {
        let mut used = 0;
        let mut cut = line.len();
        for (i, c) in line[start..].char_indices() {
            let cost = limit.char_cost(c);
            // A piece always takes at least one character, so the loop always advances.
            if used + cost > budget && i > 0 {
                cut = start + i;
                break;
            }
            used += cost;
        }
        if cut < line.len()
            && let Some(&(ts, _)) = tokens.iter().find(|&&(ts, te)| ts < cut && cut < te)
            && ts > start
        {
            cut = ts;
        }
        pieces.push(&line[start..cut]);
        start = cut;
    }
    pieces
}

fn token_ranges(line: &str, protect: &[String]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    for t in protect.iter().filter(|t| !t.is_empty()) {
        ranges.extend(
            line.match_indices(t.as_str())
                .map(|(i, m)| (i, i + m.len())),
        );
    }
    ranges.sort_unstable();
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bodies(parts: &[String]) -> Vec<&str> {
        if parts.len() == 1 {
            return vec![parts[0].as_str()];
        }
        parts
            .iter()
            .map(|p| p.split_once('\n').map_or("", |x| x.1))
            .collect()
    }

    #[test]
    fn a_message_that_fits_is_one_part_without_prefix() {
        let parts = split("一\n二", Some(SizeLimit::Bytes(100)), &[]);
        assert_eq!(parts, vec!["一\n二".to_string()]);
        assert_eq!(split("x", None, &[]), vec!["x".to_string()]);
    }

    #[test]
    fn splits_at_lines_with_numbered_prefixes() {
        let text = (1..=10)
            .map(|i| format!("第{i}行：整改事项"))
            .collect::<Vec<_>>()
            .join("\n");
        let limit = SizeLimit::Bytes(80);
        let parts = split(&text, Some(limit), &[]);
        assert!(parts.len() > 1);
        for (i, p) in parts.iter().enumerate() {
            assert!(p.len() <= 80, "{p:?}");
            assert!(p.starts_with(&format!("({}/{})\n", i + 1, parts.len())));
        }
        assert_eq!(bodies(&parts).join("\n"), text);
    }

    #[test]
    fn prefers_to_break_at_a_blank_line() {
        let text = "标题一大气污染防治工作\n- 甲项整改事项\n- 乙项整改事项\n\n标题二水污染防治\n- 丙项整改事项\n- 丁项整改事项";
        let parts = split(text, Some(SizeLimit::Chars(40)), &[]);
        assert_eq!(
            parts,
            vec![
                "(1/2)\n标题一大气污染防治工作\n- 甲项整改事项\n- 乙项整改事项\n".to_string(),
                "(2/2)\n标题二水污染防治\n- 丙项整改事项\n- 丁项整改事项".to_string()
            ]
        );
    }

    #[test]
    fn carries_a_started_section_to_the_next_part() {
        let text =
            "一二三四五六七八九十一二三四五六七八九十\n\n标题\n- 甲\n- 乙乙乙乙乙乙乙乙乙乙乙乙";
        let parts = split(text, Some(SizeLimit::Chars(40)), &[]);
        assert_eq!(
            parts,
            vec![
                "(1/2)\n一二三四五六七八九十一二三四五六七八九十\n".to_string(),
                "(2/2)\n标题\n- 甲\n- 乙乙乙乙乙乙乙乙乙乙乙乙".to_string()
            ]
        );
    }

    #[test]
    fn long_line_is_hard_wrapped_at_char_boundaries() {
        let line = "整".repeat(100);
        let parts = split(&line, Some(SizeLimit::Bytes(64)), &[]);
        for p in &parts {
            assert!(p.len() <= 64);
        }
        assert_eq!(bodies(&parts).concat(), line);
    }

    #[test]
    fn hard_wrap_does_not_cut_a_mention() {
        let token = "<at id=ou_abcdef></at>".to_string();
        let line = format!("{}{}{}", "x".repeat(20), token, "y".repeat(20));
        let parts = split(
            &line,
            Some(SizeLimit::Chars(40)),
            std::slice::from_ref(&token),
        );
        assert!(parts.iter().any(|p| p.contains(&token)), "{parts:?}");
        assert_eq!(bodies(&parts).concat(), line);
    }

    #[test]
    fn tiny_limits_are_raised_to_the_minimum() {
        let parts = split(&"a".repeat(100), Some(SizeLimit::Chars(1)), &[]);
        for p in &parts {
            assert!(p.chars().count() <= MIN_LIMIT);
        }
    }

    #[test]
    fn custom_prefix_is_counted() {
        let text = "甲乙丙丁".repeat(30);
        let prefix = |i: usize, n: usize| format!("({i}/{n})  ");
        let parts = split_with(&text, Some(SizeLimit::Bytes(50)), &[], &prefix);
        for p in &parts {
            assert!(p.len() <= 50);
            assert!(p.starts_with('('));
        }
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-z ]{0,12}",
            "[整改清单逾期受阻责任单位]{0,30}",
            Just("\n".to_string()),
            Just("\n\n".to_string()),
            Just("<@U123>".to_string()),
            Just("😀".to_string()),
        ];
        prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn parts_fit_and_nothing_is_lost(
            text in text_strategy(),
            n in MIN_LIMIT..200usize,
            bytes in any::<bool>(),
        ) {
            let limit = if bytes { SizeLimit::Bytes(n) } else { SizeLimit::Chars(n) };
            let protect = vec!["<@U123>".to_string()];
            let parts = split(&text, Some(limit), &protect);
            prop_assert!(!parts.is_empty());
            for p in &parts {
                prop_assert!(limit.measure(p) <= n, "part {:?} over {:?}", p, limit);
            }
            let b = bodies(&parts);
            // Hard wraps add line breaks, so compare with line breaks removed; this checks
            // every character is there, once, in order.
            prop_assert_eq!(b.concat().replace('\n', ""), text.replace('\n', ""));
            if text.split('\n').all(|l| limit.measure(l) + 12 <= n) {
                prop_assert_eq!(b.join("\n"), text.clone());
            }
            if limit.fits(&text) {
                prop_assert_eq!(parts, vec![text]);
            }
        }
    }
}
