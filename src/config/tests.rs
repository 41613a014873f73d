use super::*;
use std::collections::HashMap;
use std::path::Path;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const BASE: &str = r#"
[tasks]
source = "tasks.csv"
[channels.team]
platform = "slack"
webhook = "${HOOK}"
[[schedules]]
name = "digest"
cron = "0 17 * * FRI"
kind = "digest"
channels = ["team"]
"#;

fn problems(text: &str, vars: &[(&str, &str)]) -> Vec<(usize, String)> {
    match parse(Path::new("w.toml"), text, &env(vars)) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems()
            .iter()
            .map(|p| (line_col(text, p.span.start).0, p.message.clone()))
            .collect(),
    }
}

#[test]
fn a_valid_config_resolves_env_and_defaults() {
    let cfg = parse(
        Path::new("/etc/wb/w.toml"),
        BASE,
        &env(&[("HOOK", "https://hooks.slack.com/x")]),
    );
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(cfg.timezone, chrono_tz::Asia::Shanghai);
    assert_eq!(cfg.locale, Locale::ZhCn);
    assert_eq!(cfg.lists[0].tasks.source, Path::new("/etc/wb/tasks.csv"));
    let team = &cfg.channels["team"];
    assert_eq!(
        team.webhook.as_ref().map(|w| w.expose()),
        Some("https://hooks.slack.com/x")
    );
    assert_eq!(cfg.schedules[0].catch_up, chrono::Duration::hours(6));
    assert_eq!(cfg.schedules[0].escalate_after_days, 3);
}

#[test]
fn a_missing_variable_is_reported_at_its_string() {
    assert_eq!(
        problems(BASE, &[]),
        vec![(6, "environment variable `HOOK` is not set".to_string())]
    );
    let with_default = BASE.replace("${HOOK}", "${HOOK:-https://example.com/h}");
    assert!(problems(&with_default, &[]).is_empty());
}

#[test]
fn dollar_dollar_is_a_literal_dollar() {
    let text = BASE.replace("${HOOK}", "https://example.com/a$$b");
    match parse(Path::new("w.toml"), &text, &env(&[])) {
        Ok(cfg) => assert_eq!(
            cfg.channels["team"].webhook.as_ref().map(|w| w.expose()),
            Some("https://example.com/a$b")
        ),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn unknown_keys_name_the_key() {
    let text = BASE.replace("kind = \"digest\"", "kind = \"digest\"\nwhen = \"friday\"");
    let p = problems(&text, &[("HOOK", "https://h")]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, 11);
    assert!(p[0].1.contains("when"), "{p:?}");
}

#[test]
fn keys_of_another_platform_are_refused_with_the_right_list() {
    let text = BASE.replace(
        "webhook = \"${HOOK}\"",
        "webhook = \"${HOOK}\"\nencoding_aes_key = \"x\"",
    );
    let p = problems(&text, &[("HOOK", "https://h")]);
    assert_eq!(
        p,
        vec![(
            7,
            "`encoding_aes_key` is not used by platform slack".to_string()
        )]
    );
}

#[test]
fn cross_references_are_checked_and_all_reported() {
    let text = format!(
        "timezone = \"Mars/Olympus\"\n{}\n[[people]]\nid = \"a\"\nslack = \"U1\"\n[[people]]\nid = \"a\"\nslack = \"U1\"\n",
        BASE.replace("channels = [\"team\"]", "channels = [\"team\", \"ghost\"]")
            .replace("0 17 * * FRI", "0 17 * * 9")
    );
    let p = problems(&text, &[("HOOK", "https://h")]);
    let messages: Vec<&str> = p.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(p.len(), 5, "{messages:#?}");
    assert!(messages[0].contains("Mars/Olympus"));
    assert!(
        messages
            .iter()
            .any(|m| m.contains("no channel named `ghost`"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("person id `a` is used twice"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("slack handle `U1` is also given to `a`"))
    );
    // Sorted by position in the file.
    assert!(p.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn a_webhook_must_be_a_url() {
    let p = problems(BASE, &[("HOOK", "oapi.dingtalk.com/robot")]);
    assert_eq!(p.len(), 1);
    assert!(p[0].1.contains("http:// or https://"));
    // The value itself (it may hold a token) is not repeated in the message.
    assert!(!p[0].1.contains("oapi"));
}

#[test]
fn durations_accept_units_and_sums() {
    assert_eq!(parse_duration("90s"), Some(chrono::Duration::seconds(90)));
    assert_eq!(parse_duration("1h30m"), Some(chrono::Duration::minutes(90)));
    assert_eq!(parse_duration("3d"), Some(chrono::Duration::days(3)));
    assert_eq!(parse_duration("3"), None);
    assert_eq!(parse_duration("3x"), None);
    assert_eq!(parse_duration(""), None);
}

#[test]
fn a_syntax_error_points_at_the_line() {
    let text = BASE.replace("kind = \"digest\"", "kind = digest");
    let p = problems(&text, &[("HOOK", "https://h")]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, 10);
}

#[test]
fn rate_limits_parse() {
    use std::time::Duration as D;
    assert_eq!(parse_rate_limit("off"), Some(RateLimitSetting::Off));
    assert_eq!(
        parse_rate_limit("20/min"),
        Some(RateLimitSetting::Limit {
            count: 20,
            per: D::from_secs(60)
        })
    );
    assert_eq!(
        parse_rate_limit("1/2s"),
        Some(RateLimitSetting::Limit {
            count: 1,
            per: D::from_secs(2)
        })
    );
    assert_eq!(parse_rate_limit("0/s"), None);
    assert_eq!(parse_rate_limit("fast"), None);
}

#[test]
fn msgtype_is_for_dingtalk_and_wecom_and_takes_two_values() {
    let with = |platform: &str, msgtype: &str| {
        BASE.replace(
            "platform = \"slack\"",
            &format!("platform = \"{platform}\""),
        )
        .replace(
            "webhook = \"${HOOK}\"",
            &format!("webhook = \"${{HOOK}}\"\nmsgtype = \"{msgtype}\""),
        )
    };
    let vars = [("HOOK", "https://h")];
    for platform in ["dingtalk", "wecom"] {
        for msgtype in ["text", "markdown"] {
            assert!(problems(&with(platform, msgtype), &vars).is_empty());
        }
        assert_eq!(
            problems(&with(platform, "card"), &vars),
            vec![(7, "msgtype must be \"markdown\" or \"text\"".to_string())]
        );
    }
    assert_eq!(
        problems(&with("slack", "text"), &vars),
        vec![(7, "`msgtype` is not used by platform slack".to_string())]
    );
}

#[test]
fn a_store_url_without_a_password_is_not_a_secret_in_the_file() {
    let with = |store: &str| {
        let text = format!("[store]\nurl = \"{store}\"\n{BASE}");
        parse(Path::new("w.toml"), &text, &env(&[("HOOK", "https://h")]))
            .map(|c| c.holds_literal_secrets)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert!(!with("sqlite://data/weekbell.db"));
    assert!(with("postgres://weekbell:hunter2@db:5432/weekbell"));
    let literal_hook = BASE.replace("${HOOK}", "https://hooks.slack.com/services/T/B/x");
    let c = parse(Path::new("w.toml"), &literal_hook, &env(&[])).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.holds_literal_secrets);
}

#[test]
fn socket_modes_need_their_credentials_and_their_platform() {
    let with = |platform: &str, lines: &str| {
        BASE.replace(
            "platform = \"slack\"",
            &format!("platform = \"{platform}\""),
        )
        .replace(
            "webhook = \"${HOOK}\"",
            &format!("webhook = \"${{HOOK}}\"\n{lines}"),
        )
    };
    let vars = [("HOOK", "https://h"), ("T", "xapp-1-A1-2-3")];
    assert!(
        problems(
            &with("slack", "app_token = \"${T}\"\nsocket_mode = true"),
            &vars
        )
        .is_empty()
    );
    assert_eq!(
        problems(&with("slack", "socket_mode = true"), &vars),
        vec![(7, "Socket Mode needs `app_token`".to_string())]
    );
    assert!(
        problems(
            &with(
                "feishu",
                "app_id = \"cli_1\"\napp_secret = \"${T}\"\nlong_connection = true"
            ),
            &vars
        )
        .is_empty()
    );
    assert_eq!(
        problems(
            &with("feishu", "app_id = \"cli_1\"\nlong_connection = true"),
            &vars
        ),
        vec![(
            8,
            "the long connection needs `app_id` and `app_secret`".to_string()
        )]
    );
    assert_eq!(
        problems(&with("dingtalk", "socket_mode = true"), &vars),
        vec![(
            7,
            "`socket_mode` is not used by platform dingtalk".to_string()
        )]
    );
    assert_eq!(
        problems(&with("slack", "long_connection = false"), &vars),
        vec![(
            7,
            "`long_connection` is not used by platform slack".to_string()
        )]
    );
}

#[test]
fn telegram_values_are_checked_as_the_bot_api_takes_them() {
    const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    let channel = |extra: &str| {
        BASE.replace(
            "platform = \"slack\"\nwebhook = \"${HOOK}\"",
            &format!(
                "platform = \"telegram\"\nbot_token = \"${{TG_TOKEN}}\"\nchat_id = \"-1001234567890\"\n{extra}"
            ),
        )
    };
    let vars = [("TG_TOKEN", TOKEN)];
    let good = channel("secret_token = \"s3cr3t_-X\"\nbot_username = \"@weekbell_bot\"");
    assert!(
        problems(&good, &vars).is_empty(),
        "{:?}",
        problems(&good, &vars)
    );
    let cfg = parse(Path::new("w.toml"), &good, &env(&vars)).unwrap_or_else(|e| panic!("{e}"));
    let team = &cfg.channels["team"];
    let bot = team.settings.telegram();
    assert_eq!(
        bot.and_then(|b| b.bot_username.as_deref()),
        Some("weekbell_bot")
    );
    assert_eq!(
        bot.and_then(|b| b.bot_token.as_ref()).map(|t| t.expose()),
        Some(TOKEN)
    );
    assert!(team.webhook.is_none());

    assert_eq!(
        problems(&channel(""), &[("TG_TOKEN", "not-a-token")]),
        vec![(6, "this is not a Telegram bot token".to_string())]
    );
    let p = problems(&channel("").replace("-1001234567890", "our group"), &vars);
    assert_eq!(
        p,
        vec![(7, "`our group` is not a Telegram chat id".to_string())]
    );
    let p = problems(&channel("secret_token = \"has spaces\""), &vars);
    assert_eq!(
        p,
        vec![(8, "Telegram refuses this secret_token".to_string())]
    );
    let p = problems(&channel("bot_username = \"a b\""), &vars);
    assert_eq!(p, vec![(8, "`a b` is not a Telegram username".to_string())]);
    // A webhook is another platform's key.
    let p = problems(&channel("webhook = \"https://h\""), &vars);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].1
            .contains("`webhook` is not used by platform telegram")
    );
    // bot_token and chat_id are required.
    let p = problems(
        &channel("").replace("chat_id = \"-1001234567890\"\n", ""),
        &vars,
    );
    assert!(
        p.iter().any(|(_, m)| m.contains("needs `chat_id`")),
        "{p:?}"
    );
}

#[test]
fn a_discord_public_key_must_be_an_ed25519_key() {
    let text = BASE.replace(
        "platform = \"slack\"\nwebhook = \"${HOOK}\"",
        "platform = \"discord\"\nwebhook = \"${HOOK}\"\npublic_key = \"${KEY}\"",
    );
    let hook = ("HOOK", "https://discord.com/api/webhooks/1/t");
    // RFC 8032's first test key.
    let good = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    assert!(problems(&text, &[hook, ("KEY", good)]).is_empty());
    assert!(
        problems(&text, &[hook, ("KEY", "")]).is_empty(),
        "blank: commands off"
    );
    for bad in ["d75a98", "not hex at all", &good.replace('d', "z")] {
        let found = problems(&text, &[hook, ("KEY", bad)]);
        assert!(
            found.iter().any(|(_, m)| m.contains("Discord public key")),
            "{bad}: {found:?}"
        );
    }
}

#[test]
fn two_channels_cannot_poll_one_telegram_bot() {
    let text = format!(
        "{}\n[channels.other]\nplatform = \"telegram\"\nbot_token = \"${{TG_TOKEN}}\"\nchat_id = \"-100222\"\npolling = true\n",
        BASE.replace(
            "platform = \"slack\"\nwebhook = \"${HOOK}\"",
            "platform = \"telegram\"\nbot_token = \"${TG_TOKEN}\"\nchat_id = \"-100111\"\npolling = true",
        )
    );
    let p = problems(
        &text,
        &[("TG_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")],
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].1.contains("both poll the same Telegram bot"), "{p:?}");
}

#[test]
fn teams_and_google_chat_inbound_keys_are_checked() {
    let teams = BASE
        .replace("platform = \"slack\"", "platform = \"teams\"")
        .replace(
            "webhook = \"${HOOK}\"",
            "webhook = \"${HOOK}\"\nsecurity_token = \"${TOKEN:-}\"",
        );
    let hook = ("HOOK", "https://prod-1.x.logic.azure.com/workflows/1?sig=s");
    assert!(problems(&teams, &[hook]).is_empty());
    let token = ("TOKEN", "vqF0En+Z0ucuRTM/01o2GuhMH3hKKk/N2bOmlM31zaA=");
    assert!(problems(&teams, &[hook, token]).is_empty());
    let got = problems(&teams, &[hook, ("TOKEN", "not base64!")]);
    assert_eq!(got, [(7, "the security token is not base64".to_string())]);

    let chat = |extra: &str| {
        BASE.replace("platform = \"slack\"", "platform = \"googlechat\"")
            .replace(
                "webhook = \"${HOOK}\"",
                &format!("webhook = \"${{HOOK}}\"\n{extra}"),
            )
    };
    let hook = (
        "HOOK",
        "https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t",
    );
    for ok in [
        "audience = \"123456789012\"",
        "audience = \"https://wb.example.gov/hooks/team\"",
        "audience = \"${AUD:-}\"",
        "service_account = \"service-123456789012@gcp-sa-gsuiteaddons.iam.gserviceaccount.com\"",
    ] {
        assert!(problems(&chat(ok), &[hook]).is_empty(), "{ok}");
    }
    let got = problems(&chat("audience = \"my-project\""), &[hook]);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].1.starts_with("audience must be"), "{got:?}");
    let got = problems(&chat("service_account = \"me@example.com\""), &[hook]);
    assert!(got[0].1.starts_with("not a Workspace add-on"), "{got:?}");
    // `certs` is a URL, or a file next to the config.
    let cfg = parse(
        Path::new("/etc/wb/w.toml"),
        &chat("certs = \"keys/google.json\""),
        &env(&[hook]),
    );
    let cfg = cfg.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cfg.channels["team"]
            .settings
            .googlechat()
            .and_then(|g| g.certs.clone()),
        Some(Path::new("/etc/wb/keys/google.json").display().to_string())
    );
    // Keys of the other platform are refused.
    let got = problems(&chat("security_token = \"x\""), &[hook]);
    assert!(
        got[0]
            .1
            .contains("`security_token` is not used by platform googlechat"),
        "{got:?}"
    );
}

/// The masked copy of `text` that every error snippet is drawn from.
fn masked_report_text(text: &str) -> String {
    match parse(Path::new("w.toml"), text, &env(&[])) {
        Err(ConfigError::Invalid { text, .. }) => text.to_string(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn secrets_in_inline_tables_dotted_keys_and_multi_line_strings_are_masked() {
    let text = "[tasks]\nsource = \"tasks.csv\"\n\
        colour = \"red\"\n\
        [channels]\n\
        a = { platform = \"dingtalk\", webhook = \"https://oapi.dingtalk.com/robot/send?access_token=INLINE1\", secret = 'SECINLINE2' }\n\
        b.platform = \"feishu\"\n\
        b.webhook = \"https://open.feishu.cn/open-apis/bot/v2/hook/DOTTED3\"\n\
        channels.c.app_secret = \"x\"\n\
        [channels.d]\nplatform = \"slack\"\n\
        webhook = \"\"\"\nhttps://hooks.slack.com/services/T/B/MULTI4\n\"\"\"\n\
        signing_secret = '''LITERAL5'''\n\
        token = \"${TOKEN}\"\n\
        Webhook = \"https://hooks.slack.com/services/T/B/TYPO6\"\n";
    let masked = masked_report_text(text);
    for secret in [
        "INLINE1",
        "SECINLINE2",
        "DOTTED3",
        "MULTI4",
        "LITERAL5",
        "TYPO6",
    ] {
        assert!(!masked.contains(secret), "{secret} shows in:\n{masked}");
    }
    // Offsets and lines are kept, so spans computed on the original still point right, and
    // names of variables are shown.
    assert_eq!(masked.len(), text.len());
    assert_eq!(masked.lines().count(), text.lines().count());
    assert!(masked.contains("token = \"${TOKEN}\""), "{masked}");
    assert!(masked.contains("platform = \"dingtalk\""), "{masked}");
}

#[test]
fn every_form_of_a_literal_secret_counts_as_one_in_the_file() {
    let holds = |text: &str| {
        let vars = env(&[("HOOK", "https://h"), ("PGPASS", "hunter2")]);
        parse(Path::new("w.toml"), text, &vars)
            .map(|c| c.holds_literal_secrets)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let slack_hook = "https://hooks.slack.com/services/T/B/x";
    assert!(!holds(BASE));
    assert!(holds(&BASE.replace(
        "[channels.team]\nplatform = \"slack\"\nwebhook = \"${HOOK}\"",
        &format!("[channels]\nteam = {{ platform = \"slack\", webhook = \"{slack_hook}\" }}"),
    )));
    assert!(holds(&BASE.replace(
        "[channels.team]\nplatform = \"slack\"\nwebhook = \"${HOOK}\"",
        &format!("[channels]\nteam.platform = \"slack\"\nteam.webhook = \"{slack_hook}\""),
    )));
    assert!(holds(&BASE.replace(
        "webhook = \"${HOOK}\"",
        &format!("webhook = \"\"\"\n{slack_hook}\"\"\""),
    )));
    let store = |url: &str| holds(&format!("[store]\nurl = \"{url}\"\n{BASE}"));
    assert!(store("postgres://weekbell@db/weekbell?password=hunter2"));
    assert!(store(
        "postgres://db/weekbell?sslmode=require&PASSWORD=hunter2"
    ));
    assert!(!store("postgres://weekbell@db/weekbell?sslmode=require"));
    assert!(!store("postgres://weekbell:${PGPASS}@db/weekbell"));
    assert!(!store("postgres://weekbell@db/weekbell?password=${PGPASS}"));
}

#[test]
fn a_duration_too_large_for_a_date_is_a_clean_error() {
    for value in [
        "\"99999999999999d\"",
        "99999999999999",
        "\"9223372036854775807s\"",
        "\"3660d\"",
        "\"-1d\"",
    ] {
        let text = format!("escalate_after = {value}\nlocale = \"en\"\n{BASE}");
        let p = problems(&text, &[("HOOK", "https://h")]);
        assert_eq!(p, [(1, "not a duration".to_string())], "{value}");
    }
    let text = format!("escalate_after = \"3650d\"\n{BASE}");
    assert!(problems(&text, &[("HOOK", "https://h")]).is_empty());
    let text = BASE.replace(
        "kind = \"digest\"",
        "kind = \"digest\"\ncatch_up = \"999999999999w\"",
    );
    let p = problems(&text, &[("HOOK", "https://h")]);
    // The config's language is Chinese by default.
    assert_eq!(p, [(11, "不是有效的时长".to_string())]);
    assert_eq!(parse_rate_limit("1/99999999999999d"), None);
}

#[test]
fn max_unpacked_size_takes_sizes_and_refuses_nonsense() {
    let with = |value: &str| {
        let text = BASE.replace(
            "source = \"tasks.csv\"",
            &format!("source = \"tasks.csv\"\nmax_unpacked_size = {value}"),
        );
        parse(Path::new("w.toml"), &text, &env(&[("HOOK", "https://h")]))
            .map(|c| c.lists[0].tasks.max_unpacked_size)
            .map_err(|e| e.problems().to_vec())
    };
    assert_eq!(with("\"512MiB\""), Ok(512 << 20));
    assert_eq!(with("\"2 GB\""), Ok(2_000_000_000));
    assert_eq!(with("1048576"), Ok(1 << 20));
    for bad in [
        "0",
        "-5",
        "\"lots\"",
        "\"99999999999999999999GiB\"",
        "\"18446744073709551615GiB\"",
    ] {
        assert!(with(bad).is_err(), "{bad}");
    }
    let default = parse(Path::new("w.toml"), BASE, &env(&[("HOOK", "https://h")]));
    assert_eq!(
        default.map(|c| c.lists[0].tasks.max_unpacked_size).ok(),
        Some(DEFAULT_MAX_UNPACKED_SIZE)
    );
}

#[test]
fn date_order_is_mdy_or_dmy() {
    let with = |value: &str| {
        let text = BASE.replace(
            "source = \"tasks.csv\"",
            &format!("source = \"tasks.csv\"\ndate_order = {value}"),
        );
        parse(Path::new("w.toml"), &text, &env(&[("HOOK", "https://h")]))
            .map(|c| c.lists[0].tasks.date_order)
            .map_err(|e| e.to_string())
    };
    assert_eq!(with("\"mdy\""), Ok(Some(DateOrder::Mdy)));
    assert_eq!(with("\"DMY\""), Ok(Some(DateOrder::Dmy)));
    let err = with("\"ymd\"").err().unwrap_or_default();
    assert!(
        err.contains("unknown date order `ymd`") && err.contains("mdy"),
        "{err}"
    );
    let default = parse(Path::new("w.toml"), BASE, &env(&[("HOOK", "https://h")]));
    assert_eq!(
        default.map(|c| c.lists[0].tasks.date_order).ok(),
        Some(None)
    );
}

mod no_value_panics {
    use super::*;
    use proptest::prelude::*;

    /// A TOML string literal holding `s`, whatever it contains.
    fn quoted(s: &str) -> String {
        toml::Value::String(s.to_string()).to_string()
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            "[0-9]{1,24}[smhdw]{0,2}".prop_map(|s| quoted(&s)),
            "[0-9]{0,22}/[0-9]{0,22}[a-z]{0,4}".prop_map(|s| quoted(&s)),
            "[0-9]{1,22} ?[KMGkmgi]{0,2}[Bb]?".prop_map(|s| quoted(&s)),
            any::<String>().prop_map(|s| quoted(&s)),
        ]
    }

    /// Each duration, size, count and rate key with `value`, in a config otherwise valid.
    fn with_key(key: &str, value: &str) -> String {
        let set = |after: &str| BASE.replace(after, &format!("{after}\n{key} = {value}"));
        match key {
            "escalate_after" => format!("escalate_after = {value}\n{BASE}"),
            "catch_up" | "schedule_escalate_after" => {
                set("kind = \"digest\"").replace("schedule_escalate_after", "escalate_after")
            }
            "rate_limit" | "max_message_size" => set("webhook = \"${HOOK}\""),
            "max_unpacked_size" => set("source = \"tasks.csv\""),
            "sender_rate_limit" => format!("{BASE}\n[server]\nsender_rate_limit = {value}\n"),
            other => panic!("no place for {other}"),
        }
    }

    const KEYS: [&str; 7] = [
        "escalate_after",
        "catch_up",
        "schedule_escalate_after",
        "rate_limit",
        "max_message_size",
        "max_unpacked_size",
        "sender_rate_limit",
    ];

    proptest! {
        #[test]
        fn any_value_of_a_duration_size_or_rate_key_loads_or_is_a_problem(
            key in proptest::sample::select(KEYS.as_slice()),
            value in value(),
        ) {
            let text = with_key(key, &value);
            match parse(Path::new("w.toml"), &text, &env(&[("HOOK", "https://h")])) {
                Ok(_) => {}
                Err(e) => prop_assert!(!e.problems().is_empty(), "{key} = {value}: {e}"),
            }
        }
    }
}

#[test]
fn two_channels_sharing_a_signing_secret_are_refused_naming_both() {
    let text = format!(
        "locale = \"en\"\n{BASE}\n[channels.other]\nplatform = \"slack\"\nwebhook = \"${{HOOK}}\"\nsigning_secret = \"${{SECOND}}\"\n"
    )
    .replace(
        "webhook = \"${HOOK}\"\n[[schedules]]",
        "webhook = \"${HOOK}\"\nsigning_secret = \"${FIRST}\"\n[[schedules]]",
    );
    let vars = |second: &str| {
        [
            ("HOOK", "https://h"),
            ("FIRST", "8f742231b10e8888abcd99yyyzzz85a5"),
            ("SECOND", second),
        ]
        .map(|(k, v)| (k, v.to_string()))
    };
    let run = |second: &str| {
        let vars = vars(second);
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        problems(&text, &pairs)
    };
    assert!(run("a-different-secret").is_empty());
    let p = run("8f742231b10e8888abcd99yyyzzz85a5");
    assert_eq!(p.len(), 1, "{p:?}");
    // At the second channel (in name order), naming the first.
    assert_eq!(p[0].0, 8, "{p:?}");
    assert!(
        p[0].1
            .starts_with("channel `team` has the same signing_secret as channel `other`:"),
        "{p:?}"
    );
    // The error never shows the secret it compares.
    assert!(!p[0].1.contains("8f7422"), "{p:?}");
}

#[test]
fn weak_inbound_set_ups_are_warned_about_at_their_line_in_the_config_language() {
    let warnings = |locale: &str, platform: &str, lines: &str| {
        let text = BASE
            .replace(
                "platform = \"slack\"",
                &format!("platform = \"{platform}\""),
            )
            .replace(
                "webhook = \"${HOOK}\"",
                &format!("webhook = \"${{HOOK}}\"\n{lines}"),
            );
        let text = format!("locale = \"{locale}\"\n{text}");
        parse(Path::new("w.toml"), &text, &env(&[("HOOK", "https://h")]))
            .map(|c| c.warnings)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let feishu = warnings("en", "feishu", "verification_token = \"${VT:-abc}\"");
    assert_eq!(feishu.len(), 1, "{feishu:?}");
    assert!(feishu[0].starts_with("w.toml:8:"), "{feishu:?}");
    assert!(feishu[0].contains("encrypt_key"), "{feishu:?}");
    let feishu_zh = warnings("zh-CN", "feishu", "verification_token = \"${VT:-abc}\"");
    assert!(feishu_zh[0].contains("加密策略"), "{feishu_zh:?}");
    assert!(
        warnings(
            "en",
            "feishu",
            "verification_token = \"${VT:-abc}\"\nencrypt_key = \"${EK:-k}\""
        )
        .is_empty()
    );
    let chat = warnings(
        "en",
        "googlechat",
        "audience = \"https://wb.example.gov/hooks/team\"",
    );
    assert_eq!(chat.len(), 1, "{chat:?}");
    assert!(chat[0].contains("service_account"), "{chat:?}");
    assert!(warnings("en", "googlechat", "audience = \"123456789012\"").is_empty());
    let mm = warnings("en", "mattermost", "token = \"${MM_TOKEN:-}\"");
    assert_eq!(mm.len(), 1, "{mm:?}");
    assert!(mm[0].contains("blank `token`"), "{mm:?}");
    assert!(warnings("en", "mattermost", "token = \"${MM_TOKEN:-t0k}\"").is_empty());
}

fn helps(text: &str) -> Vec<Option<String>> {
    match parse(Path::new("w.toml"), text, &env(&[("HOOK", "https://h")])) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems().iter().map(|p| p.help.clone()).collect(),
    }
}

#[test]
fn a_time_zone_in_the_wrong_case_is_named_as_it_is_spelt() {
    let text = format!("timezone = \"asia/shanghai\"\n{BASE}");
    assert_eq!(
        helps(&text),
        [Some("did you mean `Asia/Shanghai`?".to_string())]
    );
    let text = format!("timezone = \"Europe/Berln\"\n{BASE}");
    assert_eq!(
        helps(&text),
        [Some("did you mean `Europe/Berlin`?".to_string())]
    );
}

#[test]
fn a_time_zone_near_no_name_gets_examples() {
    let text = format!("timezone = \"Mars/Olympus\"\n{BASE}");
    assert_eq!(
        helps(&text),
        [Some(
            "use a name such as Asia/Shanghai, Europe/Berlin or America/New_York".to_string()
        )]
    );
}

#[test]
fn every_unknown_key_is_reported_in_one_run() {
    let text = format!("timezon = \"UTC\"\n{BASE}\nkidn = \"x\"\n");
    let p = problems(&text, &[("HOOK", "https://h")]);
    assert_eq!(
        p,
        [
            (1, "未知的键 `timezon`".to_string()),
            (14, "未知的键 `kidn`".to_string())
        ]
    );
}

#[test]
fn assessment_weights_default_to_100_points_and_bad_ones_are_reported_at_their_line() {
    let cfg = parse(Path::new("w.toml"), BASE, &env(&[("HOOK", "https://h")]));
    let weights = cfg.map(|c| c.assessment).ok();
    assert_eq!(weights, Some(AssessmentWeights::default()));
    let d = AssessmentWeights::default();
    assert_eq!(d.done_rate + d.on_time_rate + d.report_rate, 100.0);

    let text = format!("{BASE}[assessment]\ndone_rate = 50\noverdue_penalty = 2.5\n");
    let cfg = parse(Path::new("w.toml"), &text, &env(&[("HOOK", "https://h")]));
    let w = cfg.map(|c| c.assessment).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (w.done_rate, w.overdue_penalty, w.report_rate),
        (50.0, 2.5, 30.0)
    );

    let text = format!(
        "locale = \"en\"\n{BASE}[assessment]\ndone_rate = -1\nreport_rate = 5000\nrejected_penalty = 1\nlate_penalty = 3\n"
    );
    let found = problems(&text, &[("HOOK", "https://h")]);
    let lines: Vec<usize> = found.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [14, 15, 17], "{found:?}");
    assert!(found[0].1.contains("`-1` is not a weight"), "{found:?}");
    assert!(
        found[2].1.contains("unknown key `late_penalty`"),
        "{found:?}"
    );

    let text = format!("{BASE}[assessment]\ndone_rate = 0\non_time_rate = 0\nreport_rate = 0\n");
    let found = problems(&text, &[("HOOK", "https://h")]);
    assert!(
        found.len() == 1 && found[0].1.contains("三项得分权重都为 0"),
        "{found:?}"
    );
}

#[test]
fn an_assessment_schedule_takes_a_period_and_no_other_kind_does() {
    let with = |kind: &str, period: &str| {
        let text = BASE.replace(
            "kind = \"digest\"",
            &format!("kind = \"{kind}\"\nperiod = {period}"),
        );
        parse(Path::new("w.toml"), &text, &env(&[("HOOK", "https://h")]))
            .map(|c| (c.schedules[0].kind, c.schedules[0].period))
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        with("assessment", "\"quarter\""),
        Ok((ScheduleKind::Assessment, AssessPeriod::Quarter))
    );
    assert!(
        with("assessment", "\"year\"")
            .err()
            .is_some_and(|e| e.contains("`year` 不是有效的考核周期")),
    );
    assert!(
        with("digest", "\"month\"")
            .err()
            .is_some_and(|e| e.contains("只有 kind = \"assessment\" 的计划才有 period")),
    );
}
