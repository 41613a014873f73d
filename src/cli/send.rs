//! `weekbell send`: fire a schedule now and deliver what it wrote to the outbox.

use super::output::table;
use super::{Cli, CliError, init_logging, runtime};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use weekbell::clock::{Clock, SystemClock};
use weekbell::daemon::{Delivery, DeliveryConfig, Scope, Shared, enqueue_slot};
use weekbell::plan::Plan;
use weekbell::schedule::Slot;
use weekbell::store::{OutboxFilter, OutboxStatus, SlotClaim, SlotStatus};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The schedule to fire.
    schedule: String,
    /// Only this channel of the schedule.
    #[arg(long)]
    channel: Option<String>,
    /// Give up waiting for delivery after this many seconds (messages stay in the outbox).
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

pub fn run(cli: &Cli, args: &Args) -> Result<(), CliError> {
    init_logging();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let mut plan = Plan::load(&cli.config, now.date_naive())?;
    let (sc, schedule) = plan.schedule_config(&args.schedule)?;
    let sc = sc.clone();
    if let Some(c) = &args.channel
        && !sc.channels.contains(c)
    {
        return Err(CliError::Usage(format!(
            "schedule `{}` does not post to channel `{c}`; it posts to: {}",
            sc.name,
            sc.channels.join(", ")
        )));
    }
    let tz = schedule.tz;
    let slot = Slot {
        schedule: sc.name.clone(),
        local: now.with_timezone(&tz).naive_local(),
        at: now,
        moved_from: None,
        tz,
    };
    let rt = runtime()?;
    rt.block_on(async move {
        // Building the client reads and parses the system's root certificates, the largest
        // piece of work in a `send` after the waiting was gone (about 19 ms of a release
        // build's ~50 ms under strace); it runs on another thread while the slot is claimed.
        let client = tokio::task::spawn_blocking(|| {
            weekbell::platforms::http_client(weekbell::platforms::SEND_TIMEOUT)
        });
        let store = super::open_store_remembering(&mut plan, now.timestamp_millis()).await?;
        let shared = Arc::new(Shared::new(store, clock.clone()));
        // Every invocation is its own manual slot, so running `send` twice sends twice, and
        // both show in the ledger.
        let claim = SlotClaim {
            schedule: sc.name.clone(),
            slot_local: format!("manual-{}", now.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
            slot_at_ms: now.timestamp_millis(),
            status: SlotStatus::Manual,
            claimed_by: shared.instance.clone(),
            now_ms: now.timestamp_millis(),
        };
        let slot_key = format!("{}@{}", claim.schedule, claim.slot_local);
        enqueue_slot(&shared, &plan, &slot, &claim, args.channel.as_deref())
            .await
            .map_err(|e| CliError::Failed(e.to_string()))?;
        let channels: Vec<String> = match &args.channel {
            Some(c) => vec![c.clone()],
            None => sc.channels.clone(),
        };
        let plan = Arc::new(plan);
        let (_plan_tx, plan_rx) = watch::channel(plan.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let client = client
            .await
            .map_err(|e| CliError::Failed(format!("cannot build the HTTP client: {e}")))?
            .map_err(|e| CliError::Failed(e.to_string()))?;
        let delivery = Delivery::new(
            shared.clone(),
            plan_rx,
            stop_rx,
            client,
            DeliveryConfig::default(),
            Scope::Channels(channels),
        );
        let mut recorded = shared.recorded.subscribe();
        let delivery = tokio::spawn(delivery.run());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.wait);
        let mine = loop {
            // Marked seen before the outbox is read, so a batch committed while it is read
            // still ends the wait below.
            recorded.borrow_and_update();
            let all = shared
                .store
                .outbox(OutboxFilter {
                    status: None,
                    channel: None,
                    limit: 100_000,
                })
                .await?;
            let mine: Vec<_> = all.into_iter().filter(|m| m.slot_key == slot_key).collect();
            let done = mine.iter().all(|m| m.status != OutboxStatus::Pending);
            if done || tokio::time::Instant::now() >= deadline {
                break mine;
            }
            // Woken by each commit of outcomes rather than a poll interval: a 100 ms poll was
            // most of the wall time of a `send` to a webhook that answers at once.
            let _ = tokio::time::timeout_at(deadline, recorded.changed()).await;
        };
        let _ = stop_tx.send(true);
        shared.wake_delivery();
        let _ = tokio::time::timeout(Duration::from_secs(10), delivery).await;
        let mut rows = vec![
            ["MESSAGE", "STATUS", "FAILED TRIES", "LAST ERROR"]
                .map(String::from)
                .to_vec(),
        ];
        for m in mine.iter().rev() {
            rows.push(vec![
                m.id.clone(),
                m.status.as_str().to_string(),
                m.attempts.to_string(),
                m.last_error.clone().unwrap_or_default(),
            ]);
        }
        out!("{}", table(&rows))?;
        let sent = mine
            .iter()
            .filter(|m| m.status == OutboxStatus::Sent)
            .count();
        outln!("{slot_key}: {sent} of {} message part(s) sent", mine.len())?;
        if sent == mine.len() {
            Ok(())
        } else {
            Err(CliError::Failed(format!(
                "{} message part(s) not sent; see `weekbell outbox`",
                mine.len() - sent
            )))
        }
    })
}
