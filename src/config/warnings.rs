//! `[[warnings]]`: the graded warning levels (预警等级), validated, or the built-in ones.

use super::error::Problem;
use super::load::{Validator, parse_duration};
use super::model::{
    ChannelConfig, Locale, Recipient, Repeat, WarningLevel, WarningRule, default_warning_levels,
};
use super::raw::{OneOrMany, RawWarning};
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// More levels than any office's colours: a list longer than this is a mistake, and every
/// task is judged against every level in every digest.
const MAX_LEVELS: usize = 20;

impl Validator<'_> {
    /// The levels the config writes, or the built-in ones when it writes none. `escalate_after`
    /// (the old top-level key) sets the built-in top level's `overdue_by` and earns a hint.
    pub(super) fn warning_levels(
        &mut self,
        raw: &[Spanned<RawWarning>],
        escalate_after: Option<(Range<usize>, i64)>,
        channels: &BTreeMap<String, ChannelConfig>,
    ) -> (Vec<WarningLevel>, bool) {
        if let Some((span, days)) = &escalate_after {
            let hint = if raw.is_empty() {
                self.locale.pick(
                    format!(
                        "`escalate_after` 仍然有效（逾期超过 {days} 天的红色预警告知分管领导和管理员），\
                         建议改用 [[warnings]] 分级预警，写法见 README 的“预警”一节"
                    ),
                    format!(
                        "`escalate_after` still works (the red warning that tells the leader and \
                         the admins after {days} days overdue); consider [[warnings]] instead, \
                         see README \"Warnings (预警)\""
                    ),
                )
            } else {
                self.locale.pick(
                    "已写 [[warnings]]，预警不再使用顶层 `escalate_after`（提醒中的领导 @ 仍按它计算）；\
                     请用 `overdue_by` 规则"
                        .to_string(),
                    "with [[warnings]] written, warnings do not use the top-level \
                     `escalate_after` (reminders still @mention leaders by it); use an \
                     `overdue_by` rule"
                        .to_string(),
                )
            };
            self.warnings.push((span.clone(), hint));
        }
        if raw.is_empty() {
            let days = escalate_after.map_or(7, |(_, d)| d);
            return (default_warning_levels(self.locale, days), true);
        }
        if raw.len() > MAX_LEVELS {
            let (message, help) = self.locale.pick(
                (
                    format!("预警等级过多（{} 个）", raw.len()),
                    format!("最多 {MAX_LEVELS} 个 [[warnings]]"),
                ),
                (
                    format!("too many warning levels ({})", raw.len()),
                    format!("write at most {MAX_LEVELS} [[warnings]] entries"),
                ),
            );
            self.problem(Problem::new(raw[MAX_LEVELS].span(), message).help(help));
        }
        let mut levels: Vec<WarningLevel> = Vec::new();
        for (i, entry) in raw.iter().enumerate() {
            let w = entry.get_ref();
            let name = self.text(&w.name).trim().to_string();
            if name.is_empty() || name.eq_ignore_ascii_case("none") {
                let (message, help) = self.locale.pick(
                    ("预警等级需要名称", "例如 \"blue\"、\"yellow\"、\"red\"；`none` 表示无预警，不能用作名称"),
                    ("a warning level needs a name", "for example \"blue\", \"yellow\" or \"red\"; `none` means no warning and cannot be a name"),
                );
                self.problem(Problem::new(w.name.span(), message).help(help));
            }
            // Entries sharing a name are one level to readers, so they must stand together.
            let severity = match levels.iter().position(|l| l.name == name) {
                Some(first) if levels.last().is_some_and(|l| l.name == name) => {
                    levels[first].severity
                }
                Some(_) => {
                    let (message, help) = self.locale.pick(
                        (
                            format!("预警等级 `{name}` 与前面同名的等级不相邻"),
                            "同名的几条 [[warnings]] 是同一等级，须连着写".to_string(),
                        ),
                        (
                            format!("warning level `{name}` is apart from the earlier `{name}`"),
                            "entries sharing a name are one level and must stand together"
                                .to_string(),
                        ),
                    );
                    self.problem(Problem::new(w.name.span(), message).help(help));
                    i
                }
                None => i,
            };
            let label = match &w.label {
                Some(l) => self.text(l),
                None => levels
                    .iter()
                    .find(|l| l.name == name)
                    .map_or_else(|| name.clone(), |l| l.label.clone()),
            };
            let rules = self.rules(&w.rule);
            let notify = self.recipients(&w.notify, channels);
            let repeat = w
                .repeat
                .as_ref()
                .map_or(Repeat::EachSlot, |r| self.repeat(r));
            levels.push(WarningLevel {
                name,
                label,
                rules,
                notify,
                repeat,
                severity,
            });
        }
        (levels, false)
    }

    fn rules(&mut self, rule: &Spanned<OneOrMany>) -> Vec<WarningRule> {
        let texts: Vec<(String, Range<usize>)> = match rule.get_ref() {
            OneOrMany::One(t) => vec![(t.clone(), rule.span())],
            OneOrMany::Many(items) => items.iter().map(|t| (t.clone(), rule.span())).collect(),
        };
        if texts.is_empty() {
            let message = self
                .locale
                .pick("预警等级需要至少一条规则", "a warning level needs a rule");
            self.problem(Problem::new(rule.span(), message).help(rule_help(self.locale)));
        }
        texts
            .iter()
            .filter_map(|(text, span)| match parse_rule(text, self.locale) {
                Ok(rule) => Some(rule),
                Err((message, help)) => {
                    self.problem(Problem::new(span.clone(), message).help(help));
                    None
                }
            })
            .collect()
    }

    fn recipients(
        &mut self,
        raw: &[super::raw::S],
        channels: &BTreeMap<String, ChannelConfig>,
    ) -> Vec<Recipient> {
        if raw.is_empty() {
            return vec![Recipient::Owners];
        }
        let mut out = Vec::new();
        for r in raw {
            let text = self.text(r);
            let recipient = match text.as_str() {
                "owners" => Some(Recipient::Owners),
                "leader" => Some(Recipient::Leader),
                "admins" => Some(Recipient::Admins),
                other => match other.strip_prefix("channel:").map(str::trim) {
                    Some(name) if channels.contains_key(name) => {
                        Some(Recipient::Channel(name.to_string()))
                    }
                    Some(name) => {
                        let known: Vec<&str> = channels.keys().map(String::as_str).collect();
                        let (message, help) = self.locale.pick(
                            (
                                format!("没有名为 `{name}` 的频道"),
                                format!("已定义的频道：{}", known.join("、")),
                            ),
                            (
                                format!("no channel named `{name}`"),
                                format!("defined channels: {}", known.join(", ")),
                            ),
                        );
                        self.problem(Problem::new(r.span(), message).help(help));
                        None
                    }
                    None => {
                        let (message, help) = self.locale.pick(
                            (
                                format!("未知的通知对象 `{other}`"),
                                "可写 owners、leader、admins 或 channel:频道名",
                            ),
                            (
                                format!("unknown recipient `{other}`"),
                                "write owners, leader, admins or channel:NAME",
                            ),
                        );
                        self.problem(Problem::new(r.span(), message).help(help));
                        None
                    }
                },
            };
            out.extend(recipient);
        }
        out
    }

    fn repeat(&mut self, r: &super::raw::S) -> Repeat {
        match self.text(r).as_str() {
            "each_slot" => Repeat::EachSlot,
            "daily" => Repeat::Daily,
            "once" => Repeat::Once,
            other => {
                let (message, help) = self.locale.pick(
                    (
                        format!("未知的重复方式 `{other}`"),
                        "可写 each_slot（每个提醒时段）、daily（每天）或 once（一次）",
                    ),
                    (
                        format!("unknown repeat `{other}`"),
                        "write each_slot, daily or once",
                    ),
                );
                self.problem(Problem::new(r.span(), message).help(help));
                Repeat::EachSlot
            }
        }
    }
}

fn rule_help(locale: Locale) -> String {
    locale
        .pick(
            "规则有：due_within 3d、behind_schedule 10%、no_update_for 7d、overdue、overdue_by 7d、blocked_for 7d",
            "rules are: due_within 3d, behind_schedule 10%, no_update_for 7d, overdue, overdue_by 7d, blocked_for 7d",
        )
        .to_string()
}

/// `due_within 3d`, `behind_schedule 10%`, `overdue`…: the rule's name, then its parameter.
fn parse_rule(text: &str, locale: Locale) -> Result<WarningRule, (String, String)> {
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or("");
    let param: Vec<&str> = words.collect();
    let param = param.join("");
    let days = || -> Result<i64, (String, String)> {
        match parse_duration(&param) {
            Some(d) if d.num_seconds() % 86_400 == 0 => Ok(d.num_days()),
            _ => Err(locale.pick(
                (
                    format!("`{name}` 需要整天数的时长，而不是 `{param}`"),
                    format!("例如 \"{name} 3d\" 或 \"{name} 1w\""),
                ),
                (
                    format!("`{name}` takes a duration in whole days, not `{param}`"),
                    format!("for example \"{name} 3d\" or \"{name} 1w\""),
                ),
            )),
        }
    };
    let none = |rule: WarningRule| -> Result<WarningRule, (String, String)> {
        if param.is_empty() {
            Ok(rule)
        } else {
            Err(locale.pick(
                (
                    format!("`{name}` 不带参数"),
                    format!("请只写 \"{name}\"，或用 overdue_by 7d 之类带天数的规则"),
                ),
                (
                    format!("`{name}` takes no parameter"),
                    format!("write \"{name}\" alone, or a rule with days such as overdue_by 7d"),
                ),
            ))
        }
    };
    match name {
        "due_within" => days().map(WarningRule::DueWithin),
        "no_update_for" => days().map(WarningRule::NoUpdateFor),
        "overdue_by" => days().map(WarningRule::OverdueBy),
        "blocked_for" => days().map(WarningRule::BlockedFor),
        "overdue" => none(WarningRule::Overdue),
        "behind_schedule" => {
            let digits = param.strip_suffix('%').unwrap_or(&param);
            match digits {
                "" => Ok(WarningRule::BehindSchedule { margin: 0 }),
                d => match d.parse::<u8>() {
                    Ok(margin) if margin <= 100 => Ok(WarningRule::BehindSchedule { margin }),
                    _ => Err(locale.pick(
                        (
                            format!(
                                "`behind_schedule` 的余量应为 0–100 的百分数，而不是 `{param}`"
                            ),
                            "例如 \"behind_schedule 10%\"".to_string(),
                        ),
                        (
                            format!("`behind_schedule` takes a margin of 0–100%, not `{param}`"),
                            "for example \"behind_schedule 10%\"".to_string(),
                        ),
                    )),
                },
            }
        }
        other => {
            let message = locale.pick(
                format!("未知的预警规则 `{other}`"),
                format!("unknown warning rule `{other}`"),
            );
            let help = match crate::suggest::closest(other, WarningRule::NAMES) {
                Some(near) => locale.pick(
                    format!("是不是 `{near}`？{}", rule_help(locale)),
                    format!("did you mean `{near}`? {}", rule_help(locale)),
                ),
                None => rule_help(locale),
            };
            Err((message, help))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_their_name_then_their_parameter() {
        let en = Locale::En;
        assert_eq!(
            parse_rule("due_within 3d", en),
            Ok(WarningRule::DueWithin(3))
        );
        assert_eq!(
            parse_rule("overdue_by 1w", en),
            Ok(WarningRule::OverdueBy(7))
        );
        assert_eq!(parse_rule(" overdue ", en), Ok(WarningRule::Overdue));
        assert_eq!(
            parse_rule("behind_schedule 10%", en),
            Ok(WarningRule::BehindSchedule { margin: 10 })
        );
        assert_eq!(
            parse_rule("behind_schedule", en),
            Ok(WarningRule::BehindSchedule { margin: 0 })
        );
        assert_eq!(
            parse_rule("blocked_for 14d", en),
            Ok(WarningRule::BlockedFor(14))
        );
    }

    #[test]
    fn a_rule_with_a_bad_parameter_or_name_is_refused_with_a_hint() {
        let en = Locale::En;
        for bad in [
            "due_within",
            "due_within 36h",
            "no_update_for soon",
            "overdue 3d",
            "behind_schedule 120%",
            "overdu_by 7d",
        ] {
            assert!(parse_rule(bad, en).is_err(), "{bad} was accepted");
        }
        let Err((message, help)) = parse_rule("overdu_by 7d", en) else {
            panic!("a misspelt rule was accepted")
        };
        assert!(message.contains("overdu_by"), "{message}");
        assert!(help.contains("did you mean `overdue_by`"), "{help}");
    }
}

#[cfg(test)]
mod loading_tests {
    use crate::config::{Recipient, Repeat, WarningRule, parse};
    use std::collections::HashMap;
    use std::path::Path;

    const BASE: &str =
        "[tasks]\nsource = \"tasks.csv\"\n[channels.office]\nplatform = \"console\"\n";

    fn levels(extra: &str) -> Vec<crate::config::WarningLevel> {
        let text = format!("{extra}\n{BASE}");
        parse(
            Path::new("w.toml"),
            &text,
            &HashMap::<String, String>::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .warning_levels
    }

    #[test]
    fn entries_sharing_a_name_share_the_severity_and_label_of_the_first() {
        let l = levels(
            "[[warnings]]\nname = \"yellow\"\nrule = \"no_update_for 7d\"\n\
             [[warnings]]\nname = \"red\"\nlabel = \"红\"\nrule = \"overdue\"\n\
             [[warnings]]\nname = \"red\"\nrule = [\"overdue_by 7d\", \"blocked_for 14d\"]\n\
             notify = [\"leader\", \"channel:office\"]\nrepeat = \"once\"\n",
        );
        let summary: Vec<_> = l
            .iter()
            .map(|l| (l.name.as_str(), l.label.as_str(), l.severity))
            .collect();
        assert_eq!(
            summary,
            vec![("yellow", "yellow", 0), ("red", "红", 1), ("red", "红", 1)]
        );
        assert_eq!(l[0].notify, vec![Recipient::Owners]);
        assert_eq!(
            l[2].rules,
            vec![WarningRule::OverdueBy(7), WarningRule::BlockedFor(14)]
        );
        assert_eq!(
            l[2].notify,
            vec![Recipient::Leader, Recipient::Channel("office".into())]
        );
        assert_eq!(l[2].repeat, Repeat::Once);
    }

    #[test]
    fn without_warnings_the_built_in_levels_apply_and_escalate_after_sets_the_top_one() {
        let built_in = levels("");
        assert_eq!(built_in.len(), 4);
        assert_eq!(built_in[3].rules, vec![WarningRule::OverdueBy(7)]);
        let old = levels("escalate_after = \"10d\"");
        assert_eq!(old[3].rules, vec![WarningRule::OverdueBy(10)]);
    }
}
