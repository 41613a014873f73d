//! Every unknown key in the file, reported in one run.
//!
//! serde's `deny_unknown_fields` stops at the first unknown key, so an office fixing a config
//! copied from an older version would run `weekbell check` once per typo. The parsed document
//! is walked against the keys the `raw` structs accept instead. The known keys are read from
//! the structs' own `Deserialize` impls (the field list serde hands to `deserialize_struct`),
//! so there is one list, the structs, and no copy to fall out of step. `serde_ignored` would
//! report the ignored keys too, but it is not in the tree and gives paths, not spans.

use super::error::Problem;
use super::model::Locale;
use super::raw::{
    RawAssessment, RawCalendar, RawChannel, RawConfig, RawPerson, RawRoster, RawSchedule,
    RawServer, RawStore, RawTasks, RawWarning,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Unknown keys with their spans, each with a "did you mean" where one is near. A document
/// that does not parse gives none here: the parse error is reported instead.
pub(super) fn unknown_keys(text: &str) -> Vec<Problem> {
    let Ok(document) = DeTable::parse(text) else {
        return Vec::new();
    };
    let document = document.get_ref();
    let locale = document_locale(document);
    let mut found = Vec::new();
    let mut check = |table: &DeTable<'_>, known: &'static [&'static str]| {
        for key in table.keys() {
            if !known.contains(&key.get_ref().as_ref()) {
                found.push(unknown(key, known, locale));
            }
        }
    };
    check(document, fields::<RawConfig>());
    for (key, value) in document {
        let value = value.get_ref();
        match key.get_ref().as_ref() {
            "store" => tables(value, &mut |t| check(t, fields::<RawStore>())),
            "tasks" | "lists" => tables(value, &mut |t| check(t, fields::<RawTasks>())),
            "people" => tables(value, &mut |t| check(t, fields::<RawPerson>())),
            "schedules" => tables(value, &mut |t| check(t, fields::<RawSchedule>())),
            "calendar" => tables(value, &mut |t| check(t, fields::<RawCalendar>())),
            "roster" => tables(value, &mut |t| check(t, fields::<RawRoster>())),
            "server" => tables(value, &mut |t| check(t, fields::<RawServer>())),
            "warnings" => tables(value, &mut |t| check(t, fields::<RawWarning>())),
            "assessment" => tables(value, &mut |t| check(t, fields::<RawAssessment>())),
            "channels" => {
                if let DeValue::Table(channels) = value {
                    for channel in channels.values() {
                        tables(channel.get_ref(), &mut |t| check(t, fields::<RawChannel>()));
                    }
                }
            }
            _ => {}
        }
    }
    found.sort_by_key(|p| p.span.start);
    found
}

fn unknown(
    key: &Spanned<toml::de::DeString<'_>>,
    known: &'static [&'static str],
    locale: Locale,
) -> Problem {
    let name = key.get_ref();
    let message = locale.pick(
        format!("未知的键 `{name}`"),
        format!("unknown key `{name}`"),
    );
    let help = match crate::suggest::closest(name, known.iter().copied()) {
        Some(near) => locale.pick(
            format!("是不是 `{near}`？"),
            format!("did you mean `{near}`?"),
        ),
        None => locale
            .pick(
                "请删除此键或改正拼写；所有的键见 config/examples/",
                "remove the key or fix its spelling; see config/examples/ for every key",
            )
            .to_string(),
    };
    Problem::new(key.span(), message).help(help)
}

/// The tables a section holds: itself (`[store]`) or each entry of an array of tables
/// (`[[people]]`). A value of another type is left to serde, which names the type expected.
fn tables(value: &DeValue<'_>, each: &mut dyn FnMut(&DeTable<'_>)) {
    match value {
        DeValue::Table(t) => each(t),
        DeValue::Array(items) => {
            for item in items.iter() {
                if let DeValue::Table(t) = item.get_ref() {
                    each(t);
                }
            }
        }
        _ => {}
    }
}

/// The file's own `locale`, so that these messages, found before validation, are written in it
/// like the rest.
fn document_locale(document: &DeTable<'_>) -> Locale {
    document
        .get("locale")
        .and_then(|v| match v.get_ref() {
            DeValue::String(s) => Locale::from_config_name(s),
            _ => None,
        })
        .unwrap_or(Locale::ZhCn)
}

/// The field names a struct's derived `Deserialize` accepts.
fn fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names = None;
    // The capture always ends in an error: it only wants the list, not a value.
    let _ = T::deserialize(FieldNames(&mut names));
    names.unwrap_or(&[])
}

/// A deserializer that records the field list of the struct asked of it and returns nothing.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_keys_come_from_the_raw_structs() {
        assert!(fields::<RawConfig>().contains(&"tasks"));
        assert!(fields::<RawChannel>().contains(&"signing_secret"));
        assert!(fields::<RawTasks>().contains(&"max_unpacked_size"));
    }

    #[test]
    fn every_unknown_key_is_reported_with_a_suggestion() {
        let text = "timezon = \"Asia/Shanghai\"\nlocale = \"en\"\n\
                    [tasks]\nsource = \"t.csv\"\nsheeet = \"x\"\n[tasks.columns]\nanything = \"a\"\n\
                    [[people]]\nid = \"p\"\nnmae = \"n\"\n\
                    [channels.g]\nplatform = \"slack\"\nsigning-secret = \"${S}\"\nbanana = 1\n";
        let problems = unknown_keys(text);
        let messages: Vec<(&str, Option<&str>)> = problems
            .iter()
            .map(|p| (&text[p.span.clone()], p.help.as_deref()))
            .collect();
        assert_eq!(
            messages,
            [
                ("timezon", Some("did you mean `timezone`?")),
                ("sheeet", Some("did you mean `sheet`?")),
                ("nmae", Some("did you mean `name`?")),
                ("signing-secret", Some("did you mean `signing_secret`?")),
                (
                    "banana",
                    Some("remove the key or fix its spelling; see config/examples/ for every key")
                ),
            ]
        );
        assert_eq!(problems[0].message, "unknown key `timezon`");
    }

    #[test]
    fn unknown_keys_are_written_in_the_default_locale() {
        let problems = unknown_keys("[store]\nurll = \"sqlite::memory:\"\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].message, "未知的键 `urll`");
        assert_eq!(problems[0].help.as_deref(), Some("是不是 `url`？"));
    }
}
