//! People: who owns and leads tasks, and how each is @mentioned on each platform.

use crate::types::Platform;
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub unit: Option<String>,
    /// Mobile number: DingTalk and WeCom can @mention by it.
    pub mobile: Option<String>,
    /// Email address: how Slack and Feishu find a user id when no handle is configured.
    pub email: Option<String>,
    /// Per-platform user handles (user ids), used for @mentions and to recognise senders.
    pub handles: BTreeMap<Platform, String>,
    pub admin: bool,
}

impl Person {
    pub fn handle(&self, platform: Platform) -> Option<&str> {
        self.handles.get(&platform).map(String::as_str)
    }
}

/// All configured people, indexed for resolving names written in the task list.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    people: Vec<Person>,
    by_key: HashMap<String, usize>,
}

impl Directory {
    /// Builds the index. Ids win over display names when one person's name is another's id,
    /// because ids are what admins write when names are ambiguous.
    pub fn new(people: Vec<Person>) -> Self {
        let mut by_key = HashMap::new();
        for (i, p) in people.iter().enumerate() {
            by_key.entry(p.name.trim().to_string()).or_insert(i);
        }
        for (i, p) in people.iter().enumerate() {
            by_key.insert(p.id.trim().to_string(), i);
        }
        Directory { people, by_key }
    }

    /// Finds a person by id or display name, ignoring surrounding whitespace.
    pub fn resolve(&self, name_or_id: &str) -> Option<&Person> {
        self.by_key.get(name_or_id.trim()).map(|&i| &self.people[i])
    }

    pub fn get(&self, id: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.id == id)
    }

    pub fn all(&self) -> &[Person] {
        &self.people
    }

    /// The person with this mobile, compared as [`normalise_mobile`] writes them; `None` when
    /// nobody or more than one person has it (a shared office phone names no one).
    pub fn by_mobile(&self, mobile: &str) -> Option<&Person> {
        let wanted = normalise_mobile(mobile)?;
        let mut found = self
            .people
            .iter()
            .filter(|p| p.mobile.as_deref().and_then(normalise_mobile).as_ref() == Some(&wanted));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// Gives people the platform handles a directory found for their mobile or email
    /// (`(platform, contact, user id)`, the contact normalised). A handle the config gives
    /// wins, and an id already someone's handle on that platform is given to nobody else,
    /// so a directory answer never takes a sender or a mention from the person the config
    /// names. Answers how many handles were added.
    pub fn add_found_handles<'a>(
        &mut self,
        found: impl IntoIterator<Item = (Platform, Contact<'a>, &'a str)>,
    ) -> usize {
        let mut added = 0;
        for (platform, contact, user_id) in found {
            let taken = self
                .people
                .iter()
                .any(|p| p.handle(platform) == Some(user_id));
            if taken {
                continue;
            }
            let owners: Vec<usize> = self
                .people
                .iter()
                .enumerate()
                .filter(|(_, p)| !p.handles.contains_key(&platform) && contact.matches(p))
                .map(|(i, _)| i)
                .collect();
            // Two people sharing one mobile or email: the answer cannot say which of them it is.
            if let [only] = owners[..] {
                self.people[only]
                    .handles
                    .insert(platform, user_id.to_string());
                added += 1;
            }
        }
        added
    }
}

/// A mobile or email as directories are asked by it, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact<'a> {
    Mobile(&'a str),
    Email(&'a str),
}

impl<'a> Contact<'a> {
    /// The name the store keeps its kind under, which is also the field Feishu answers it in.
    pub fn kind(&self) -> &'static str {
        match self {
            Contact::Mobile(_) => "mobile",
            Contact::Email(_) => "email",
        }
    }

    pub fn value(&self) -> &'a str {
        match self {
            Contact::Mobile(v) | Contact::Email(v) => v,
        }
    }

    /// Whether this is `person`'s mobile or email.
    fn matches(&self, person: &Person) -> bool {
        match self {
            Contact::Mobile(m) => {
                person
                    .mobile
                    .as_deref()
                    .and_then(normalise_mobile)
                    .as_deref()
                    == Some(*m)
            }
            Contact::Email(e) => {
                person.email.as_deref().and_then(normalise_email).as_deref() == Some(*e)
            }
        }
    }
}

/// A mobile as the directories are asked by it and answers are compared: digits only, China's
/// `+86`/`86` prefix dropped from an 11-digit number (DingTalk and Feishu take mainland
/// numbers bare), other countries kept as `+` and digits. `None` when fewer than 5 digits are
/// left: not a phone number.
pub fn normalise_mobile(mobile: &str) -> Option<String> {
    let international = mobile.trim_start().starts_with('+');
    let digits: String = mobile.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 && (international || digits.len() == 13) => rest.to_string(),
        _ if international => format!("+{digits}"),
        _ => digits,
    };
    (digits.trim_start_matches('+').len() >= 5).then_some(digits)
}

/// An email as the directories are asked by it: trimmed and in lower case; `None` without an
/// `@` between two non-empty parts.
pub fn normalise_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (user, domain) = email.split_once('@')?;
    (!user.is_empty() && !domain.is_empty() && !email.contains(char::is_whitespace))
        .then_some(email)
}

/// Someone on leave (请假) from `from` through `to`, and who acts for them (代理).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absence {
    /// The person id of who is away.
    pub person: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The person id of the deputy; `None`: the leader of each of their tasks stands in.
    pub deputy: Option<String>,
}

impl Absence {
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }

    /// `2026-12-10..2026-12-18`, then the deputy's id when there is one: how the chat's leave
    /// is recorded as an event's value.
    pub fn to_value(&self) -> String {
        match &self.deputy {
            Some(d) => format!("{}..{} {d}", self.from, self.to),
            None => format!("{}..{}", self.from, self.to),
        }
    }

    /// Reads [`to_value`](Self::to_value)'s form back; `None` when it is not that.
    pub fn from_value(person: &str, value: &str) -> Option<Absence> {
        let value = value.trim();
        let (range, deputy) = match value.split_once(char::is_whitespace) {
            Some((range, deputy)) => (range, Some(deputy.trim().to_string())),
            None => (value, None),
        };
        let (from, to) = parse_day_range(range)?;
        Some(Absence {
            person: person.to_string(),
            from,
            to,
            deputy: deputy.filter(|d| !d.is_empty()),
        })
    }
}

/// `2026-12-10..2026-12-18` (inclusive, `from` not after `to`).
pub fn parse_day_range(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (from, to) = text.trim().split_once("..")?;
    let day = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let (from, to) = (day(from)?, day(to)?);
    (from <= to).then_some((from, to))
}

/// Who is on leave: the config's `[[people]] away`, then the chat's `away` (请假) and `back`
/// (销假), the latest for each person winning, whatever order they are learnt in (events reach
/// a replica out of order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Absences {
    /// By person id: the leave (none after `back`) and the `(at_ms, event id)` that set it.
    by_person: HashMap<String, (Option<Absence>, (i64, String))>,
}

impl Absences {
    /// The leave the config gives, as if recorded before any event.
    pub fn new(configured: &[Absence]) -> Self {
        let by_person = configured
            .iter()
            .map(|a| {
                (
                    a.person.clone(),
                    (Some(a.clone()), (i64::MIN, String::new())),
                )
            })
            .collect();
        Absences { by_person }
    }

    /// Takes `absence` (`None`: back from leave) for `person` when it was recorded after the
    /// one held.
    pub fn record(&mut self, person: &str, absence: Option<Absence>, at_ms: i64, event_id: &str) {
        let key = (at_ms, event_id.to_string());
        match self.by_person.get_mut(person) {
            Some((held, held_key)) if *held_key < key => {
                *held = absence;
                *held_key = key;
            }
            Some(_) => {}
            None => {
                self.by_person.insert(person.to_string(), (absence, key));
            }
        }
    }

    /// `person`'s leave covering `day`.
    pub fn on(&self, person: &str, day: NaiveDate) -> Option<&Absence> {
        self.by_person
            .get(person)
            .and_then(|(a, _)| a.as_ref())
            .filter(|a| a.covers(day))
    }

    /// Everyone away on `day`, by person id.
    pub fn away_on(&self, day: NaiveDate) -> Vec<&Absence> {
        let mut away: Vec<&Absence> = self
            .by_person
            .values()
            .filter_map(|(a, _)| a.as_ref())
            .filter(|a| a.covers(day))
            .collect();
        away.sort_by(|a, b| a.person.cmp(&b.person));
        away
    }

    /// Whether `deputy` acts on `day` for `person`, who is away then.
    pub fn acts_for(&self, deputy: &str, person: &str, day: NaiveDate) -> bool {
        self.on(person, day)
            .is_some_and(|a| a.deputy.as_deref() == Some(deputy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leave(person: &str, from: &str, to: &str, deputy: Option<&str>) -> Absence {
        let (from, to) =
            parse_day_range(&format!("{from}..{to}")).unwrap_or_else(|| panic!("{from}..{to}"));
        Absence {
            person: person.into(),
            from,
            to,
            deputy: deputy.map(str::to_string),
        }
    }

    #[test]
    fn the_latest_leave_for_a_person_wins_in_whatever_order_it_is_learnt() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let configured = leave("li", "2026-12-01", "2026-12-31", None);
        let mut a = Absences::new(std::slice::from_ref(&configured));
        assert!(a.on("li", day("2026-12-05")).is_some());
        let chat = leave("li", "2026-12-10", "2026-12-18", Some("wang"));
        // `back` at 300, then the leave at 200 learnt late: `back` still wins.
        a.record("li", None, 300, "b");
        a.record("li", Some(chat.clone()), 200, "a");
        assert_eq!(a.on("li", day("2026-12-12")), None);
        a.record("li", Some(chat.clone()), 400, "c");
        assert_eq!(a.on("li", day("2026-12-12")), Some(&chat));
        assert!(a.acts_for("wang", "li", day("2026-12-18")));
        assert!(!a.acts_for("wang", "li", day("2026-12-19")));
        assert_eq!(a.away_on(day("2026-12-12")).len(), 1);
        // The value an event holds reads back as the same leave.
        assert_eq!(Absence::from_value("li", &chat.to_value()), Some(chat));
        assert_eq!(Absence::from_value("li", ""), None);
        assert_eq!(parse_day_range("2026-12-18..2026-12-10"), None);
    }

    fn person(id: &str, mobile: Option<&str>, email: Option<&str>) -> Person {
        Person {
            id: id.into(),
            name: id.into(),
            unit: None,
            mobile: mobile.map(str::to_string),
            email: email.map(str::to_string),
            handles: BTreeMap::new(),
            admin: false,
        }
    }

    #[test]
    fn mobiles_are_compared_without_spaces_dashes_or_chinas_prefix() {
        assert_eq!(
            normalise_mobile("138 0000 0001").as_deref(),
            Some("13800000001")
        );
        assert_eq!(
            normalise_mobile("+86-138-0000-0001").as_deref(),
            Some("13800000001")
        );
        assert_eq!(
            normalise_mobile("8613800000001").as_deref(),
            Some("13800000001")
        );
        assert_eq!(
            normalise_mobile("+1 212 666 8888").as_deref(),
            Some("+12126668888")
        );
        assert_eq!(normalise_mobile("分机 12"), None);
        assert_eq!(
            normalise_email(" Li.Na@Example.COM ").as_deref(),
            Some("li.na@example.com")
        );
        assert_eq!(normalise_email("not an email"), None);
    }

    #[test]
    fn a_found_handle_goes_to_the_one_person_with_that_mobile_and_never_over_the_config() {
        let mut configured = person("wang", Some("13800000002"), None);
        configured
            .handles
            .insert(Platform::Dingtalk, "from-config".into());
        let mut people = Directory::new(vec![
            person("li", Some("+86 138 0000 0001"), Some("li@example.com")),
            configured,
            person("zhao", Some("13800000003"), None),
            person("qian", Some("13800000003"), None),
        ]);
        let added = people.add_found_handles([
            (
                Platform::Dingtalk,
                Contact::Mobile("13800000001"),
                "user-li",
            ),
            (
                Platform::Dingtalk,
                Contact::Mobile("13800000002"),
                "user-wang",
            ),
            (
                Platform::Dingtalk,
                Contact::Mobile("13800000003"),
                "shared-phone",
            ),
            (Platform::Slack, Contact::Email("li@example.com"), "U012AB"),
            // An id the config already gives someone is not given again.
            (
                Platform::Dingtalk,
                Contact::Mobile("13800000003"),
                "from-config",
            ),
        ]);
        assert_eq!(added, 2);
        let handle = |id: &str, p| people.get(id).and_then(|x| x.handle(p)).map(str::to_string);
        assert_eq!(handle("li", Platform::Dingtalk).as_deref(), Some("user-li"));
        assert_eq!(handle("li", Platform::Slack).as_deref(), Some("U012AB"));
        assert_eq!(
            handle("wang", Platform::Dingtalk).as_deref(),
            Some("from-config")
        );
        assert_eq!(handle("zhao", Platform::Dingtalk), None);
        assert_eq!(
            people.by_mobile("13800000001").map(|p| p.id.as_str()),
            Some("li")
        );
        assert!(people.by_mobile("13800000003").is_none());
    }
}
