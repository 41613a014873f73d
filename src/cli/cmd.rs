//! `weekbell cmd --as PERSON "TEXT"`: a chat command run locally, as if that person had typed
//! it — for scripts, for trying the command language, and for offices without a chat link.

use super::{Cli, CliError, runtime};
use chrono::{DateTime, FixedOffset};
use std::sync::Arc;
use weekbell::chat::{ChatService, Incoming, SenderRef};
use weekbell::plan::Plan;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The person id (from `[[people]]`) the command runs as.
    #[arg(long = "as", value_name = "PERSON")]
    person: String,
    /// The command, as it would be typed in the chat: "done 12", "完成 12", "list mine".
    text: String,
    /// Run as if sent through this channel: its language, and only the tasks it covers
    /// (its `units`, `categories` and the tasks routed to it), to see and to change. Without
    /// it the command sees every task.
    #[arg(long)]
    channel: Option<String>,
    /// Print JSON: the answer, the command word and how many changes were recorded.
    #[arg(long)]
    json: bool,
    /// Run as of this instant (RFC 3339 with offset) instead of now: the time the changes are
    /// recorded at. For replaying a paper record into the history, and for tests of a timeline.
    #[arg(long)]
    at: Option<DateTime<FixedOffset>>,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    let now = super::instant(args.at.as_ref());
    let mut plan = Plan::load(&cli.config, now.date_naive())?;
    if plan.people.get(&args.person).is_none() {
        return Err(CliError::Usage(format!(
            "no person with id `{}` in {}; `--as` takes an id from [[people]]",
            args.person,
            plan.config.path.display()
        )));
    }
    if let Some(c) = &args.channel
        && !plan.config.channels.contains_key(c)
    {
        return Err(CliError::Usage(format!(
            "no channel named `{c}`; `weekbell check` lists the channels"
        )));
    }
    let rt = runtime()?;
    let answer = rt.block_on(async {
        let store = super::open_store_remembering(&mut plan, now.timestamp_millis()).await?;
        let plan = Arc::new(plan);
        let chat = ChatService::new(store.clone());
        let incoming = Incoming {
            channel: args.channel.as_deref(),
            sender: SenderRef::Person(&args.person),
            message_id: None,
            text: &args.text,
            source: "cli",
        };
        let answer = chat.handle(&plan, &incoming, now).await;
        store.close().await;
        answer.map_err(|e| CliError::Failed(e.to_string()))
    })?;
    if args.json {
        let out = serde_json::json!({
            "reply": answer.text,
            "command": answer.command,
            "recorded": answer.recorded,
            "notices_queued": answer.notices_queued,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).unwrap_or_else(|_| "{}".into())
        )?;
    } else {
        outln!("{}", answer.text)?;
    }
    Ok(())
}
