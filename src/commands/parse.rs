//! Chat text → [`Parsed`]: which command, in which language, with which arguments.

use super::normalize::{fold_width, guess_is_chinese, is_cjk, strip_preamble};
use crate::config::Locale;

/// The language a command was written in; replies use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Zh,
    En,
}

impl From<Locale> for Lang {
    fn from(l: Locale) -> Self {
        match l {
            Locale::ZhCn => Lang::Zh,
            Locale::En => Lang::En,
        }
    }
}

impl From<Lang> for Locale {
    fn from(l: Lang) -> Self {
        match l {
            Lang::Zh => Locale::ZhCn,
            Lang::En => Locale::En,
        }
    }
}

/// The command words, independent of language, for usage messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Help,
    List,
    Status,
    Done,
    Progress,
    Block,
    Reopen,
    Note,
    Report,
    Approve,
    Reject,
    Extend,
    ApproveExtension,
    DenyExtension,
    Away,
    Back,
}

/// Which tasks `list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListFilter {
    /// Tasks not yet closed (open and ongoing): what a chat wants to see by default.
    Open,
    /// Open and ongoing tasks the sender owns or leads.
    Mine,
    Overdue,
    /// Open tasks due from today through the next 7 days.
    DueSoon,
    Blocked,
    /// Every task of a unit, as the user wrote the unit (matched against `Task::unit` later).
    Unit(String),
}

/// A command with its arguments. Task ids are as the user wrote them (folded to ASCII, with
/// `#`, `第`, `号`, `项` removed); they are matched against the list when the command runs.
/// Free text (notes, reasons, reports) keeps the user's own characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    List(ListFilter),
    /// The digest, now.
    Status,
    Done {
        id: String,
        note: Option<String>,
    },
    Progress {
        id: String,
        percent: u8,
        note: Option<String>,
    },
    Block {
        id: String,
        reason: String,
    },
    Reopen {
        id: String,
        note: Option<String>,
    },
    Note {
        id: String,
        text: String,
    },
    /// `report [UNIT] text`: the unit, when given, is the start of `text`. Only the list of
    /// units tells `周报 县城管局 本周…` from `周报 本周…`, so it is split off when the command
    /// runs (see [`super::execute`]).
    Report {
        text: String,
    },
    /// `approve ID [note]` / `销号 ID`: a reviewer signs a task off (审核销号). Where the list
    /// has no sign-off it is `done`, as `销号` always was.
    Approve {
        id: String,
        note: Option<String>,
    },
    /// `reject ID reason` / `退回 ID 原因`: a reviewer returns a task awaiting sign-off to
    /// its owners.
    Reject {
        id: String,
        reason: String,
    },
    /// `extend ID DATE reason` / `申请延期 ID 日期 原因`: an owner asks for a later deadline. The
    /// date is as typed; it is read when the command runs, against that day.
    Extend {
        id: String,
        to: String,
        reason: String,
    },
    /// `approve extension ID` / `同意延期 ID`: the leader (or an admin) grants the request.
    ApproveExtension {
        id: String,
        note: Option<String>,
    },
    /// `deny extension ID reason` / `驳回延期 ID 原因`.
    DenyExtension {
        id: String,
        reason: String,
    },
    /// `away [PERSON] FROM..TO [deputy PERSON]` / `请假 [姓名] 日期 至 日期 [代理 姓名]`: leave.
    /// The words are read when the command runs, against the people and the day.
    Away {
        text: String,
    },
    /// `back [PERSON]` / `销假 [姓名]`: leave ends now.
    Back {
        who: Option<String>,
    },
}

/// What is wrong with the arguments of a known command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageProblem {
    MissingId,
    MissingPercent,
    /// The text where a percentage from 0 to 100 was expected.
    BadPercent(String),
    /// A reason, note or report text is required.
    MissingText,
    /// `report` without a unit from a sender who belongs to none.
    MissingUnit,
    /// `extend` without the date it asks for.
    MissingDate,
}

/// The result of reading one chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Command {
        lang: Lang,
        command: Command,
    },
    /// A known command word with arguments that do not fit it: answer with its usage.
    Usage {
        lang: Lang,
        verb: Verb,
        problem: UsageProblem,
    },
    /// No command word: answer with the help. The language is guessed from the script, `None`
    /// when the text has no letters at all (an empty mention of the bot, say).
    Unknown {
        lang: Option<Lang>,
        /// The command word the first word is a typo of (`dne` → `done`, `完城` → `完成`).
        near: Option<&'static str>,
    },
}

impl Parsed {
    /// The language to answer in, `fallback` (the channel's locale) when the text did not say.
    pub fn lang(&self, fallback: Lang) -> Lang {
        match self {
            Parsed::Command { lang, .. } | Parsed::Usage { lang, .. } => *lang,
            Parsed::Unknown { lang, .. } => lang.unwrap_or(fallback),
        }
    }
}

/// The filter a list word stands for, or (for `清单`/`list`) none yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Preset {
    Mine,
    Overdue,
    Due,
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Verb(Verb),
    ListOf(Preset),
    /// `进度`: the digest alone, progress with arguments (people use 进度 and 进展 alike).
    ZhProgressOrStatus,
}

const EN_WORDS: &[(&str, Word)] = &[
    ("help", Word::Verb(Verb::Help)),
    ("list", Word::Verb(Verb::List)),
    ("ls", Word::Verb(Verb::List)),
    ("mine", Word::ListOf(Preset::Mine)),
    ("overdue", Word::ListOf(Preset::Overdue)),
    ("status", Word::Verb(Verb::Status)),
    ("digest", Word::Verb(Verb::Status)),
    ("done", Word::Verb(Verb::Done)),
    ("progress", Word::Verb(Verb::Progress)),
    ("block", Word::Verb(Verb::Block)),
    ("blocked", Word::Verb(Verb::Block)),
    ("reopen", Word::Verb(Verb::Reopen)),
    ("note", Word::Verb(Verb::Note)),
    ("report", Word::Verb(Verb::Report)),
    ("approve", Word::Verb(Verb::Approve)),
    ("reject", Word::Verb(Verb::Reject)),
    ("extend", Word::Verb(Verb::Extend)),
    ("deny", Word::Verb(Verb::DenyExtension)),
    ("away", Word::Verb(Verb::Away)),
    ("leave", Word::Verb(Verb::Away)),
    ("back", Word::Verb(Verb::Back)),
];

/// Chinese command words; the longest one a message starts with is taken, so `受阻清单` is a
/// list and `受阻` a status change.
const ZH_WORDS: &[(&str, Word)] = &[
    ("帮助", Word::Verb(Verb::Help)),
    ("清单", Word::Verb(Verb::List)),
    ("列表", Word::Verb(Verb::List)),
    ("事项清单", Word::Verb(Verb::List)),
    ("我的", Word::ListOf(Preset::Mine)),
    ("我的清单", Word::ListOf(Preset::Mine)),
    ("我的事项", Word::ListOf(Preset::Mine)),
    ("我的任务", Word::ListOf(Preset::Mine)),
    ("逾期", Word::ListOf(Preset::Overdue)),
    ("逾期清单", Word::ListOf(Preset::Overdue)),
    ("逾期事项", Word::ListOf(Preset::Overdue)),
    ("到期清单", Word::ListOf(Preset::Due)),
    ("即将到期", Word::ListOf(Preset::Due)),
    ("受阻清单", Word::ListOf(Preset::Blocked)),
    ("受阻事项", Word::ListOf(Preset::Blocked)),
    ("进度", Word::ZhProgressOrStatus),
    ("汇总", Word::Verb(Verb::Status)),
    ("完成", Word::Verb(Verb::Done)),
    ("已完成", Word::Verb(Verb::Done)),
    ("办结", Word::Verb(Verb::Done)),
    ("销号", Word::Verb(Verb::Approve)),
    ("审核通过", Word::Verb(Verb::Approve)),
    ("同意销号", Word::Verb(Verb::Approve)),
    ("退回", Word::Verb(Verb::Reject)),
    ("延期", Word::Verb(Verb::Extend)),
    ("申请延期", Word::Verb(Verb::Extend)),
    ("延期申请", Word::Verb(Verb::Extend)),
    ("同意延期", Word::Verb(Verb::ApproveExtension)),
    ("批准延期", Word::Verb(Verb::ApproveExtension)),
    ("驳回延期", Word::Verb(Verb::DenyExtension)),
    ("不同意延期", Word::Verb(Verb::DenyExtension)),
    ("请假", Word::Verb(Verb::Away)),
    ("休假", Word::Verb(Verb::Away)),
    ("出差", Word::Verb(Verb::Away)),
    ("销假", Word::Verb(Verb::Back)),
    ("进展", Word::Verb(Verb::Progress)),
    ("受阻", Word::Verb(Verb::Block)),
    ("重开", Word::Verb(Verb::Reopen)),
    ("备注", Word::Verb(Verb::Note)),
    ("周报", Word::Verb(Verb::Report)),
];

/// Words after `list`/`清单` that pick a filter rather than name a unit (compared folded and
/// lower-cased).
const LIST_WORDS: &[(&str, Option<Preset>)] = &[
    ("all", None),
    ("open", None),
    ("mine", Some(Preset::Mine)),
    ("my", Some(Preset::Mine)),
    ("me", Some(Preset::Mine)),
    ("overdue", Some(Preset::Overdue)),
    ("late", Some(Preset::Overdue)),
    ("due", Some(Preset::Due)),
    ("soon", Some(Preset::Due)),
    ("due soon", Some(Preset::Due)),
    ("blocked", Some(Preset::Blocked)),
    ("全部", None),
    ("所有", None),
    ("未完成", None),
    ("我的", Some(Preset::Mine)),
    ("逾期", Some(Preset::Overdue)),
    ("到期", Some(Preset::Due)),
    ("即将到期", Some(Preset::Due)),
    ("临期", Some(Preset::Due)),
    ("受阻", Some(Preset::Blocked)),
];

/// Separators an input method puts between a Chinese command word and its id (`完成：12`,
/// `完成，12`), checked after folding full-width forms.
pub(crate) fn is_separator(c: char) -> bool {
    let c = fold_width(c);
    c.is_whitespace() || matches!(c, ':' | ',' | '、' | ';')
}

/// Reads one chat message. Never fails: text that is no command is [`Parsed::Unknown`].
pub fn parse(text: &str) -> Parsed {
    let s = strip_preamble(text);
    let Some((lang, word, rest)) = command_word(s) else {
        let lang = guess_is_chinese(s).map(|zh| if zh { Lang::Zh } else { Lang::En });
        return Parsed::Unknown {
            lang,
            near: near_command_word(s),
        };
    };
    let rest = strip_bot_suffix(rest);
    let verb = match word {
        Word::Verb(v) => v,
        Word::ListOf(p) => {
            return Parsed::Command {
                lang,
                command: Command::List(preset_filter(p)),
            };
        }
        Word::ZhProgressOrStatus if rest.trim().is_empty() => Verb::Status,
        Word::ZhProgressOrStatus => Verb::Progress,
    };
    match arguments(verb, rest) {
        Ok(command) => Parsed::Command { lang, command },
        Err(problem) => Parsed::Usage {
            lang,
            verb,
            problem,
        },
    }
}

/// The command word at the start of `s`, its language, and the text after it.
fn command_word(s: &str) -> Option<(Lang, Word, &str)> {
    let first = s.chars().next().map(fold_width)?;
    if first.is_ascii_alphabetic() {
        // English: the whole run of letters, so `doneness` is not `done`.
        let end = s
            .char_indices()
            .find(|&(_, c)| !fold_width(c).is_ascii_alphabetic())
            .map_or(s.len(), |(i, _)| i);
        let word: String = s[..end]
            .chars()
            .map(|c| fold_width(c).to_ascii_lowercase())
            .collect();
        let (_, w) = EN_WORDS.iter().find(|(name, _)| *name == word)?;
        return Some((Lang::En, *w, &s[end..]));
    }
    let (name, w) = ZH_WORDS
        .iter()
        .filter(|(name, _)| s.starts_with(name))
        .max_by_key(|(name, _)| name.len())?;
    let rest = &s[name.len()..];
    // `完成情况` or `备注说明` is prose that happens to start with a command word; an id, a
    // separator or the end is what follows a real one (`第` starts `第12项`).
    if rest.chars().next().is_some_and(|c| is_cjk(c) && c != '第') {
        return None;
    }
    Some((Lang::Zh, *w, rest))
}

/// The command word a message's first word is a typo of. Only a word no longer than the
/// longest command word plus the edits allowed can be one, so a long first word (hostile text
/// is up to the inbound size cap) is not compared at all.
fn near_command_word(s: &str) -> Option<&'static str> {
    const LONGEST_TYPO: usize = 12;
    let first = s.chars().next().map(fold_width)?;
    let (word, words): (String, &[(&'static str, Word)]) = if first.is_ascii_alphabetic() {
        let word = s
            .chars()
            .map(fold_width)
            .take_while(char::is_ascii_alphabetic)
            .take(LONGEST_TYPO + 1)
            .collect();
        (word, EN_WORDS)
    } else {
        let word = s
            .chars()
            .take_while(|&c| is_cjk(c))
            .take(LONGEST_TYPO + 1)
            .collect();
        (word, ZH_WORDS)
    };
    if word.is_empty() || word.chars().count() > LONGEST_TYPO {
        return None;
    }
    crate::suggest::closest(&word, words.iter().map(|(name, _)| *name))
}

/// Telegram appends the bot's name to commands in groups: `/done@weekbell_bot 12`.
fn strip_bot_suffix(rest: &str) -> &str {
    match rest.strip_prefix(['@', '＠']) {
        Some(r) => &r[r.find(char::is_whitespace).unwrap_or(r.len())..],
        None => rest,
    }
}

fn preset_filter(p: Preset) -> ListFilter {
    match p {
        Preset::Mine => ListFilter::Mine,
        Preset::Overdue => ListFilter::Overdue,
        Preset::Due => ListFilter::DueSoon,
        Preset::Blocked => ListFilter::Blocked,
    }
}

fn arguments(verb: Verb, rest: &str) -> Result<Command, UsageProblem> {
    Ok(match verb {
        // Extra words after these are harmless (`help me`, `status please`).
        Verb::Help => Command::Help,
        Verb::Status => Command::Status,
        Verb::List => Command::List(list_filter(rest)),
        Verb::Done => {
            let (id, rest) = take_id(rest)?;
            Command::Done {
                id,
                note: text(rest),
            }
        }
        Verb::Progress => {
            let (id, rest) = take_id(rest)?;
            let (percent, rest) = take_percent(rest)?;
            Command::Progress {
                id,
                percent,
                note: text(rest),
            }
        }
        Verb::Block => {
            let (id, rest) = take_id(rest)?;
            Command::Block {
                id,
                reason: text(rest).ok_or(UsageProblem::MissingText)?,
            }
        }
        Verb::Reopen => {
            let (id, rest) = take_id(rest)?;
            Command::Reopen {
                id,
                note: text(rest),
            }
        }
        Verb::Note => {
            let (id, rest) = take_id(rest)?;
            Command::Note {
                id,
                text: text(rest).ok_or(UsageProblem::MissingText)?,
            }
        }
        Verb::Report => Command::Report {
            text: text(rest).ok_or(UsageProblem::MissingText)?,
        },
        // `approve extension 12` is two words in English.
        Verb::Approve if extension_word(rest).is_some() => {
            arguments(Verb::ApproveExtension, extension_word(rest).unwrap_or(rest))?
        }
        Verb::Approve => {
            let (id, rest) = take_id(rest)?;
            Command::Approve {
                id,
                note: text(rest),
            }
        }
        Verb::Extend => {
            let (id, rest) = take_id(rest)?;
            let rest = rest.trim_start_matches(is_separator);
            let end = rest.find(is_separator).unwrap_or(rest.len());
            if end == 0 {
                return Err(UsageProblem::MissingDate);
            }
            Command::Extend {
                id,
                to: rest[..end].chars().map(fold_width).collect(),
                reason: text(&rest[end..]).ok_or(UsageProblem::MissingText)?,
            }
        }
        Verb::ApproveExtension => {
            let (id, rest) = take_id(rest)?;
            Command::ApproveExtension {
                id,
                note: text(rest),
            }
        }
        Verb::Away => Command::Away {
            text: text(rest).ok_or(UsageProblem::MissingDate)?,
        },
        Verb::Back => Command::Back { who: text(rest) },
        Verb::DenyExtension => {
            let (id, rest) = take_id(extension_word(rest).unwrap_or(rest))?;
            Command::DenyExtension {
                id,
                reason: text(rest).ok_or(UsageProblem::MissingText)?,
            }
        }
        Verb::Reject => {
            let (id, rest) = take_id(rest)?;
            Command::Reject {
                id,
                reason: text(rest).ok_or(UsageProblem::MissingText)?,
            }
        }
    })
}

/// The text after a leading `extension` (any case), if `rest` starts with that word.
fn extension_word(rest: &str) -> Option<&str> {
    let r = rest.trim_start();
    let word = r.get(..9)?;
    let after = &r[9..];
    (word.eq_ignore_ascii_case("extension")
        && after.chars().next().is_none_or(|c| !c.is_alphanumeric()))
    .then_some(after)
}

fn list_filter(rest: &str) -> ListFilter {
    let arg = rest.trim_matches(is_separator);
    if arg.is_empty() {
        return ListFilter::Open;
    }
    let folded: String = arg
        .chars()
        .map(|c| fold_width(c).to_ascii_lowercase())
        .collect();
    let folded = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    match LIST_WORDS.iter().find(|(w, _)| *w == folded) {
        Some((_, Some(p))) => preset_filter(*p),
        Some((_, None)) => ListFilter::Open,
        None => ListFilter::Unit(arg.to_string()),
    }
}

/// Free text after the arguments, or `None` when there is none.
fn text(rest: &str) -> Option<String> {
    let t = rest.trim_start_matches(is_separator).trim_end();
    (!t.is_empty()).then(|| t.to_string())
}

/// Splits the task id off the front of `rest`: the next token, folded to ASCII, without a
/// leading `#`/`第` or a trailing `号`/`项`/`条`. An ASCII id ends where its characters do, so
/// `完成12号已清理` is id `12` with note `已清理`.
fn take_id(rest: &str) -> Result<(String, &str), UsageProblem> {
    let s = rest.trim_start_matches(is_separator);
    let tok_end = s.find(char::is_whitespace).unwrap_or(s.len());
    let tok = &s[..tok_end];
    let start = tok
        .char_indices()
        .find(|&(_, c)| !(fold_width(c) == '#' || c == '第'))
        .map_or(tok.len(), |(i, _)| i);
    let body = &tok[start..];
    let first = body
        .chars()
        .next()
        .map(fold_width)
        .ok_or(UsageProblem::MissingId)?;

    let (mut id, id_end) = if first.is_ascii_alphanumeric() {
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                let f = fold_width(c);
                !(f.is_ascii_alphanumeric() || matches!(f, '.' | '-' | '_'))
            })
            .map_or(body.len(), |(i, _)| i);
        let id: String = body[..end].chars().map(fold_width).collect();
        (id, start + end)
    } else {
        // Ids in other scripts are taken whole, as the list writes them.
        let id: String = body
            .chars()
            .map(fold_width)
            .collect::<String>()
            .trim_end_matches(['号', '项', '条', ':', ',', '、', ';', '.'])
            .to_string();
        (id, tok_end)
    };
    // A full stop or dash after an id is punctuation (`done 12.`), not part of it.
    while id.ends_with(['.', '-', '_']) {
        id.pop();
    }
    if id.is_empty() {
        return Err(UsageProblem::MissingId);
    }
    let after = s[id_end..].trim_start_matches(['号', '项', '条']);
    Ok((id, after.trim_start_matches(is_separator)))
}

/// Splits a percentage (`60%`, `60`, `60％`, `６０％`, `60 %`) off the front of `rest`.
fn take_percent(rest: &str) -> Result<(u8, &str), UsageProblem> {
    let s = rest.trim_start_matches(is_separator);
    if s.is_empty() {
        return Err(UsageProblem::MissingPercent);
    }
    let end = s
        .char_indices()
        .find(|&(_, c)| !fold_width(c).is_ascii_digit())
        .map_or(s.len(), |(i, _)| i);
    let token = || {
        let e = s.find(char::is_whitespace).unwrap_or(s.len());
        UsageProblem::BadPercent(s[..e].to_string())
    };
    let digits: String = s[..end].chars().map(fold_width).collect();
    let mut after = &s[end..];
    // `60.5%`: fractions are not accepted rather than silently cut to 60.
    let mut next = after.chars().map(fold_width);
    if next.next() == Some('.') && next.next().is_some_and(|c| c.is_ascii_digit()) {
        return Err(token());
    }
    let value = digits
        .parse::<u32>()
        .ok()
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| *v <= 100)
        .ok_or_else(token)?;
    if let Some(r) = after.trim_start().strip_prefix(['%', '％']) {
        after = r;
    }
    Ok((value, after))
}
