//! People: who owns and leads tasks, and how each is @mentioned on each platform.

use crate::types::Platform;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub unit: Option<String>,
    /// Mobile number: DingTalk and WeCom can @mention by it.
    pub mobile: Option<String>,
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
}
