//! `weekbell init`: a starting config from an office's own list.

use super::{Cli, CliError};
use std::path::PathBuf;
use weekbell::clock::{Clock, SystemClock};
use weekbell::config::Locale;
use weekbell::init::{InitOptions, starting_config, write};
use weekbell::types::Platform;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The task list: xlsx, xls, ods, csv, tsv, TOML or JSON.
    list: PathBuf,
    /// The config to write; an existing file is never overwritten.
    #[arg(short, long, default_value = "weekbell.toml")]
    output: PathBuf,
    /// The workbook's sheet (the first when not given).
    #[arg(long)]
    sheet: Option<String>,
    /// Add this chat platform's channel beside the console: dingtalk, wecom, feishu, slack,
    /// teams, telegram, discord, mattermost, googlechat or webhook.
    #[arg(long, value_parser = parse_platform)]
    platform: Option<Platform>,
    /// The messages' language, zh-CN or en (guessed from the list when not given).
    #[arg(long, value_parser = parse_locale)]
    locale: Option<Locale>,
    /// The schedules' IANA time zone (Asia/Shanghai for a Chinese list, else this machine's).
    #[arg(long)]
    timezone: Option<chrono_tz::Tz>,
    /// An address book (DingTalk, WeCom or Feishu export, or any sheet of 姓名/手机/部门/UserID)
    /// to take people's mobiles, units and ids from; the ids are --platform's.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
}

fn parse_platform(s: &str) -> Result<Platform, String> {
    s.parse::<Platform>().map_err(|()| {
        let names: Vec<&str> = Platform::ALL.iter().map(|p| p.as_str()).collect();
        format!("unknown platform {s:?}: use one of {}", names.join(", "))
    })
}

fn parse_locale(s: &str) -> Result<Locale, String> {
    Locale::from_config_name(s).ok_or_else(|| format!("unknown locale {s:?}: use zh-CN or en"))
}

pub fn run(_cli: &Cli, args: &Args) -> Result<(), CliError> {
    let opts = InitOptions {
        list: args.list.clone(),
        output: args.output.clone(),
        sheet: args.sheet.clone(),
        platform: args.platform,
        locale: args.locale,
        timezone: args.timezone,
        roster: args.roster.clone(),
    };
    let today = SystemClock.now().date_naive();
    let made = starting_config(&opts, today).map_err(CliError::from)?;
    write(&made).map_err(CliError::from)?;
    let config = made.path.display();
    outln!(
        "wrote {config}: {} tasks, {} people ({} with a mobile), locale {}, time zone {}",
        made.tasks,
        made.people,
        made.people_with_mobile,
        made.locale.as_str(),
        made.timezone.name()
    )?;
    if !made.env_vars.is_empty() {
        outln!(
            "set before running it: {}",
            made.env_vars
                .iter()
                .map(|v| format!("{v}=…"))
                .collect::<Vec<_>>()
                .join(" ")
        )?;
    }
    outln!("next:   weekbell --config {config} check")?;
    outln!("        weekbell --config {config} preview")?;
    Ok(())
}
