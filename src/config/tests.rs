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
    assert_eq!(cfg.tasks.source, Path::new("/etc/wb/tasks.csv"));
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
    assert_eq!(team.options["bot_username"], "weekbell_bot");
    assert_eq!(team.credentials["bot_token"].expose(), TOKEN);
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
        cfg.channels["team"].options["certs"],
        Path::new("/etc/wb/keys/google.json").display().to_string()
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
