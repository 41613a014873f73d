//! Who the people are on each platform when the config gives a mobile or an email but no
//! handle: asked of the platforms' directories with the app credentials a channel already has
//! (`platforms::directory`), kept in the store, and given to the people as handles when a plan
//! is loaded ([`apply_cached`]), so that mentions and sender recognition use them. A handle the
//! config gives always wins.
//!
//! Asked at `weekbell run`'s start and then daily ([`Resolver::refresh`], from the daemon, off
//! the sending path), and once for a sender nobody is known by before they are refused
//! ([`Resolver::identify`]). Every answer, "no such user" too, is kept for a day before it is
//! asked again, so a restart or a second message costs no request.

use crate::config::{ChannelConfig, Locale};
use crate::people::{Contact, Directory, normalise_email, normalise_mobile};
use crate::plan::Plan;
use crate::platforms::Outcome;
use crate::platforms::directory as platform_directory;
use crate::shutdown::Shutdown;
use crate::store::{DirectoryEntry, Store, StoreError};
use crate::types::Platform;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often the daemon asks again.
pub const REFRESH_EVERY: Duration = Duration::from_secs(24 * 3600);

/// An answer, found or not, stands this long before it is asked again: someone who joins the
/// platform later is found the next day.
const FRESH: Duration = Duration::from_secs(24 * 3600);

/// Most contacts one pass asks about per platform. An office has tens to hundreds of people;
/// Slack's pace (1.3 s a look-up) makes 2,000 about 45 minutes.
const MAX_PER_PASS: usize = 2_000;

/// Most contacts asked about for one unknown sender on a platform that cannot be asked who a
/// sender is (Feishu, Slack): the command waits for them.
const MAX_FOR_SENDER: usize = 5;

/// A pass sits out at most this many waits the platform asks for, each at most [`MAX_WAIT`];
/// beyond, the platform's pass ends and the next one carries on.
const MAX_WAITS: u32 = 3;
const MAX_WAIT: Duration = Duration::from_secs(120);

/// Most unknown senders remembered as asked about: past it, the memory starts again (the
/// store still holds every answer, so that costs at most one request per sender).
const MAX_SENDERS: usize = 10_000;

/// The look-ups of one process: the HTTP client, the unknown senders already asked about,
/// and whether answers arrived that the plan's people do not have yet.
pub struct Resolver {
    client: reqwest::Client,
    asked: Mutex<HashMap<String, Instant>>,
    changed: AtomicBool,
}

/// A contact whose text the resolver owns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Owned {
    Mobile(String),
    Email(String),
}

impl Owned {
    fn as_contact(&self) -> Contact<'_> {
        match self {
            Owned::Mobile(m) => Contact::Mobile(m),
            Owned::Email(e) => Contact::Email(e),
        }
    }
}

impl Resolver {
    pub fn new(client: reqwest::Client) -> Self {
        Resolver {
            client,
            asked: Mutex::new(HashMap::new()),
            changed: AtomicBool::new(false),
        }
    }

    /// Whether new answers arrived since the last call: the daemon then reloads the plan, whose
    /// people get them through [`apply_cached`].
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::AcqRel)
    }

    /// One pass over every platform a channel can look people up on. Store failures end it;
    /// a platform's refusal is logged (naming the channel and what to do) and ends that
    /// platform's pass only. Answers how many people were newly found.
    pub async fn refresh(
        &self,
        plan: &Plan,
        store: &Store,
        now: DateTime<Utc>,
        stop: &mut Shutdown,
    ) -> Result<usize, StoreError> {
        self.pass(plan, store, now, None, MAX_PER_PASS, Some(stop))
            .await
    }

    /// The person behind a sender nobody is known by on `channel`, asked once a day per
    /// sender: on DingTalk the sender's mobile (`user/get`), matched against the people's; on
    /// Feishu and Slack, the few people not yet looked up. `None` when nobody matches.
    pub async fn identify(
        &self,
        plan: &Plan,
        store: &Store,
        channel: &ChannelConfig,
        ids: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let Some(first) = ids.first() else {
            return Ok(None);
        };
        let platform = channel.platform;
        let capable = [Contact::Mobile(""), Contact::Email("")]
            .iter()
            .any(|c| platform_directory::can_look_up(channel, c));
        if !capable {
            return Ok(None);
        }
        let ask = self.first_time(&format!("{}:{}", channel.name, ids.join("|")));
        if platform_directory::can_ask_about_sender(channel) {
            return self
                .identify_by_mobile(plan, store, channel, first, ask, now)
                .await;
        }
        if ask {
            self.pass(plan, store, now, Some(platform), MAX_FOR_SENDER, None)
                .await?;
        }
        let entries = store.directory().await?;
        let found = entries.iter().filter(|e| {
            e.platform == platform && e.user_id.as_deref().is_some_and(|u| ids.contains(&u))
        });
        let mut people = Directory::new(plan.config.people.clone());
        people.add_found_handles(found.filter_map(found_handle));
        Ok(people
            .all()
            .iter()
            .find(|p| p.handle(platform).is_some_and(|h| ids.contains(&h)))
            .map(|p| p.id.clone()))
    }

    async fn identify_by_mobile(
        &self,
        plan: &Plan,
        store: &Store,
        channel: &ChannelConfig,
        user_id: &str,
        ask: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let platform = channel.platform;
        let now_ms = now.timestamp_millis();
        let cached = store.directory().await?.into_iter().find(|e| {
            e.platform == platform && e.key_kind == "user" && e.key == user_id && fresh(e, now_ms)
        });
        let mobile = match cached {
            Some(entry) => entry.user_id,
            None if ask => {
                match platform_directory::sender_mobile(&self.client, channel, user_id, now).await {
                    Ok(mobile) => {
                        store
                            .put_directory(platform, "user", user_id, mobile.as_deref(), now_ms)
                            .await?;
                        mobile
                    }
                    Err(outcome) => {
                        warn(plan.config.locale, channel, &outcome);
                        None
                    }
                }
            }
            None => None,
        };
        let Some(person) = mobile.as_deref().and_then(|m| plan.people.by_mobile(m)) else {
            return Ok(None);
        };
        // The config names this person's handle on the platform, and it is not this sender.
        let configured = plan.config.people.iter().find(|p| p.id == person.id);
        if configured.is_some_and(|p| p.handles.contains_key(&platform)) {
            return Ok(None);
        }
        if let Some(key) = person.mobile.as_deref().and_then(normalise_mobile) {
            store
                .put_directory(platform, "mobile", &key, Some(user_id), now_ms)
                .await?;
            self.changed.store(true, Ordering::Release);
        }
        Ok(Some(person.id.clone()))
    }

    /// Whether `sender` was not asked about within the day (and notes that it now is).
    fn first_time(&self, sender: &str) -> bool {
        let Ok(mut asked) = self.asked.lock() else {
            return false;
        };
        let now = Instant::now();
        if asked
            .get(sender)
            .is_some_and(|at| now.duration_since(*at) < FRESH)
        {
            return false;
        }
        if asked.len() >= MAX_SENDERS {
            asked.retain(|_, at| now.duration_since(*at) < FRESH);
            if asked.len() >= MAX_SENDERS {
                asked.clear();
            }
        }
        asked.insert(sender.to_string(), now);
        true
    }

    async fn pass(
        &self,
        plan: &Plan,
        store: &Store,
        now: DateTime<Utc>,
        only: Option<Platform>,
        limit: usize,
        mut stop: Option<&mut Shutdown>,
    ) -> Result<usize, StoreError> {
        let now_ms = now.timestamp_millis();
        let cached: BTreeMap<(Platform, String, String), DirectoryEntry> = store
            .directory()
            .await?
            .into_iter()
            .map(|e| ((e.platform, e.key_kind.clone(), e.key.clone()), e))
            .collect();
        let mut found = 0;
        for channel in lookup_channels(plan, only) {
            let platform = channel.platform;
            let due: Vec<Owned> = wanted(plan, channel)
                .into_iter()
                .filter(|o| {
                    let c = o.as_contact();
                    let key = (platform, c.kind().to_string(), c.value().to_string());
                    !cached.get(&key).is_some_and(|e| fresh(e, now_ms))
                })
                .take(limit)
                .collect();
            let mut waits = 0;
            let mut chunks = due.chunks(platform_directory::batch_size(platform).max(1));
            let mut chunk = chunks.next();
            while let Some(batch) = chunk {
                if stop.as_ref().is_some_and(|s| s.is_shutdown()) {
                    return Ok(found);
                }
                let contacts: Vec<Contact<'_>> = batch.iter().map(Owned::as_contact).collect();
                let answer =
                    platform_directory::look_up(&self.client, channel, &contacts, now).await;
                match answer {
                    Ok(ids) => {
                        for (contact, id) in contacts.iter().zip(&ids) {
                            let key = (
                                platform,
                                contact.kind().to_string(),
                                contact.value().to_string(),
                            );
                            let before = cached.get(&key).and_then(|e| e.user_id.as_deref());
                            if id.is_some() && id.as_deref() != before {
                                found += 1;
                                self.changed.store(true, Ordering::Release);
                            }
                            store
                                .put_directory(
                                    platform,
                                    contact.kind(),
                                    contact.value(),
                                    id.as_deref(),
                                    now_ms,
                                )
                                .await?;
                        }
                        chunk = chunks.next();
                    }
                    Err(Outcome::Wait { after, .. })
                        if waits < MAX_WAITS && after <= MAX_WAIT && stop.is_some() =>
                    {
                        waits += 1;
                        tracing::info!(
                            channel = %channel.name,
                            wait_s = after.as_secs(),
                            "the platform asked to slow down its directory look-ups; waiting"
                        );
                        if !sleep(stop.as_deref_mut(), after).await {
                            return Ok(found);
                        }
                        continue;
                    }
                    Err(outcome) => {
                        warn(plan.config.locale, channel, &outcome);
                        break;
                    }
                }
                if chunk.is_some()
                    && !sleep(stop.as_deref_mut(), platform_directory::pace(platform)).await
                {
                    return Ok(found);
                }
            }
        }
        Ok(found)
    }
}

/// Sleeps `how_long`, or until the shutdown signal (`false` then); at once without a listener.
async fn sleep(stop: Option<&mut Shutdown>, how_long: Duration) -> bool {
    match stop {
        Some(stop) => stop.until(tokio::time::sleep(how_long)).await.is_some(),
        None => true,
    }
}

fn fresh(entry: &DirectoryEntry, now_ms: i64) -> bool {
    let fresh_ms = i64::try_from(FRESH.as_millis()).unwrap_or(i64::MAX);
    entry.resolved_ms > now_ms.saturating_sub(fresh_ms) && entry.resolved_ms <= now_ms
}

/// One channel per platform that can look people up (the first by name), so a platform's
/// people are asked about once, whatever the number of its channels.
fn lookup_channels(plan: &Plan, only: Option<Platform>) -> Vec<&ChannelConfig> {
    let mut by_platform: BTreeMap<Platform, &ChannelConfig> = BTreeMap::new();
    for channel in plan.config.channels.values() {
        let capable = [Contact::Mobile(""), Contact::Email("")]
            .iter()
            .any(|c| platform_directory::can_look_up(channel, c));
        if capable && only.is_none_or(|p| p == channel.platform) {
            by_platform.entry(channel.platform).or_insert(channel);
        }
    }
    by_platform.into_values().collect()
}

/// The contacts of the people the config gives no handle on `channel`'s platform, of the
/// kinds the channel can look up, each once.
fn wanted(plan: &Plan, channel: &ChannelConfig) -> Vec<Owned> {
    let mut out: Vec<Owned> = Vec::new();
    for person in &plan.config.people {
        if person.handles.contains_key(&channel.platform) {
            continue;
        }
        let mobile = person
            .mobile
            .as_deref()
            .and_then(normalise_mobile)
            .map(Owned::Mobile);
        let email = person
            .email
            .as_deref()
            .and_then(normalise_email)
            .map(Owned::Email);
        for contact in [mobile, email].into_iter().flatten() {
            if platform_directory::can_look_up(channel, &contact.as_contact())
                && !out.contains(&contact)
            {
                out.push(contact);
            }
        }
    }
    out
}

/// A stored answer as a found handle: `(platform, contact, user id)`.
fn found_handle(entry: &DirectoryEntry) -> Option<(Platform, Contact<'_>, &str)> {
    let contact = match entry.key_kind.as_str() {
        "mobile" => Contact::Mobile(&entry.key),
        "email" => Contact::Email(&entry.key),
        _ => return None,
    };
    Some((entry.platform, contact, entry.user_id.as_deref()?))
}

/// Gives `people` the handles the store holds answers for (a config handle wins). Answers how
/// many were added.
pub async fn apply_cached(people: &mut Directory, store: &Store) -> Result<usize, StoreError> {
    let entries = store.directory().await?;
    Ok(people.add_found_handles(entries.iter().filter_map(found_handle)))
}

/// Logs a platform's refusal in the config's language, naming the channel and what to do.
fn warn(locale: Locale, channel: &ChannelConfig, outcome: &Outcome) {
    let reason = outcome.reason().unwrap_or_default();
    let hint = match (outcome, locale) {
        (Outcome::Permanent { hint, .. }, _) => hint.as_str(),
        (_, Locale::ZhCn) => "下一轮查询时重试",
        (_, Locale::En) => "the next pass tries again",
    };
    match locale {
        Locale::ZhCn => tracing::warn!(
            channel = %channel.name,
            "无法通过渠道 `{}` 查询通讯录：{reason}；{hint}",
            channel.name
        ),
        Locale::En => tracing::warn!(
            channel = %channel.name,
            "cannot look people up through channel `{}`: {reason}; {hint}",
            channel.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, user_id: Option<&str>, resolved_ms: i64) -> DirectoryEntry {
        DirectoryEntry {
            platform: Platform::Dingtalk,
            key_kind: kind.into(),
            key: "13800000001".into(),
            user_id: user_id.map(str::to_string),
            resolved_ms,
        }
    }

    #[test]
    fn an_answer_stands_for_a_day_and_one_from_the_future_does_not() {
        let day = 24 * 3600 * 1000;
        let now = 10 * day;
        assert!(fresh(&entry("mobile", None, now - day + 1), now));
        assert!(!fresh(&entry("mobile", None, now - day), now));
        // A clock set back must not make an answer last for ever.
        assert!(!fresh(&entry("mobile", Some("x"), now + 1), now));
    }

    #[test]
    fn only_found_mobiles_and_emails_become_handles() {
        let found = entry("mobile", Some("manager42"), 0);
        assert_eq!(
            found_handle(&found),
            Some((
                Platform::Dingtalk,
                Contact::Mobile("13800000001"),
                "manager42"
            ))
        );
        assert_eq!(found_handle(&entry("mobile", None, 0)), None);
        // A sender's mobile, kept under their user id, names nobody's handle by itself.
        assert_eq!(found_handle(&entry("user", Some("13800000001"), 0)), None);
    }
}
