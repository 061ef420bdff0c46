//! The decision for one inbound message: who gets an auto-reply, and the customer's
//! claim that makes it one per off-hours period, written once.

use crate::send::{Claimed, send_claimed, settle_begun};
use crate::{AutoReply, Outcome, RecordError, Store};
use asyncdesk::autoreply::{self, Claim, Decision};
use asyncdesk::conversation::{Author, ConversationId, FLOOD_PER_MINUTE, Message};
use asyncdesk::hours::Moment;
use asyncdesk::loop_guard;
use asyncdesk::ports::{ClaimWrite, Outbound, StoreError};
use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

/// Rounds of reading and writing the claim when another write came between.
const CLAIM_ROUNDS: usize = 4;

/// The auto-reply decision for one stored inbound message, first seen.
pub async fn auto_reply_to<S: Store, O: Outbound>(
    message: &Message,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<Outcome, RecordError> {
    answer(message, deps, now, false).await
}

/// `retry`: the retry queue handed the message back; only the claim it owns may be
/// resumed, whatever its age.
pub(crate) async fn answer<S: Store, O: Outbound>(
    message: &Message,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
    retry: bool,
) -> Result<Outcome, RecordError> {
    // The channel decided when parsing (`wants_answer`): a customer message that asks
    // for a reply, from a person, in a one-to-one chat. The stream filter matches it.
    if message.author != Author::Customer || !message.wants_answer {
        return Ok(Outcome::Skipped(
            "not a customer message that wants an answer",
        ));
    }
    // The one loop guard, asked again with our own addresses: a machine, a bounce,
    // a list, a bot or we ourselves never get an auto-reply.
    if let Some(reason) = loop_guard::check(message, &deps.own_addresses) {
        info!(event = "loop_guard", conversation = %message.conversation_id, reason = reason.as_str(), "no auto-reply");
        return Ok(Outcome::Skipped("the loop guard refuses this sender"));
    }
    if !deps.outbound.enabled(message.endpoint.channel) {
        return Ok(Outcome::Skipped("no sender configured for the channel"));
    }
    // A platform clock ahead of ours cannot date a message after we received it.
    let sent_at = message.sent_at.min(message.stored_at);
    if !retry && now - sent_at > deps.max_age {
        return Ok(Outcome::Skipped("message too old for an auto-reply"));
    }
    let period = match deps.hours.moment(sent_at) {
        Moment::Open => return Ok(Outcome::Skipped("sent within business hours")),
        Moment::ClosedBeyondHorizon => {
            return Ok(Outcome::Skipped(
                "no opening within a year: nothing truthful to promise",
            ));
        }
        Moment::Closed(period) => period,
    };
    // Claims are per customer, not per conversation: an email customer with several
    // threads still gets one auto-reply per period.
    let customer = message.endpoint.conversation_id();
    if !retry && flooding(message, &customer, sent_at, deps, now).await? {
        return Ok(Outcome::Skipped(
            "the sender wrote more than 60 messages in a minute",
        ));
    }
    let key = period.key();
    // The claim outlives the period by a week, then TTL removes it.
    let expires_at = period.opens_at + Duration::days(7);
    let fresh_id = format!("out-{}", uuid::Uuid::new_v4().simple());
    for _ in 0..CLAIM_ROUNDS {
        let current = deps.store.read_claim(&customer).await?;
        let expected = current.as_ref().map(|c| c.rev);
        let decision = autoreply::decide(
            current.as_ref(),
            &message.id,
            &key,
            now,
            deps.daily_cap,
            &fresh_id,
        );
        let claim = match decision {
            Decision::PeriodTaken => {
                return Ok(Outcome::Skipped(
                    "already auto-replied to this customer in this off-hours period",
                ));
            }
            Decision::DailyCapReached => {
                info!(event = "daily_cap", conversation = %message.conversation_id, cap = deps.daily_cap, "no auto-reply");
                return Ok(Outcome::Skipped(
                    "the customer's daily auto-reply cap is reached",
                ));
            }
            Decision::Begun(claim) => {
                return settle_begun(message, &claim, &period, deps, now).await;
            }
            // A retry whose claim moved on (a later period's message claimed it).
            Decision::Claim(_) if retry => {
                return Ok(Outcome::Skipped("the customer's claim has moved on"));
            }
            Decision::Resume(claim) => {
                match deps
                    .store
                    .write_claim(&customer, &claim, expected, None, expires_at)
                    .await?
                {
                    ClaimWrite::Written => claim,
                    _ => continue,
                }
            }
            Decision::Claim(claim) => {
                match write_new(deps, &customer, &claim, expected, expires_at, now).await? {
                    Some(true) => claim,
                    Some(false) => continue,
                    None => {
                        warn!(event = "hourly_cap", conversation = %message.conversation_id, cap = deps.hourly_cap.cap(), "no auto-reply");
                        return Ok(Outcome::Skipped(
                            "the deployment's hourly auto-reply cap is reached",
                        ));
                    }
                }
            }
        };
        let claimed = Claimed {
            customer: &customer,
            claim,
            expires_at,
        };
        return send_claimed(message, claimed, &period, deps, now).await;
    }
    Err(StoreError::Unavailable(format!(
        "the auto-reply claim of {} kept changing",
        message.conversation_id
    ))
    .into())
}

/// Writes a new claim with a token of the hour's cap: one this instance holds, or a
/// block taken in the same transaction. `Some(false)`: raced, read again; `None`:
/// every shard of the hour is full.
async fn write_new<S: Store, O: Outbound>(
    deps: &AutoReply<S, O>,
    customer: &ConversationId,
    claim: &Claim,
    expected: Option<u64>,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<bool>, StoreError> {
    let hour = now.format("%Y-%m-%dT%H").to_string();
    let tokens = &deps.hourly_cap;
    let mut taking = None;
    if !tokens.spend(&hour) {
        // Another claim may be taking a block right now: wait, then spend from it.
        taking = Some(tokens.taking.lock().await);
    }
    if taking.is_none() || tokens.spend(&hour) {
        let written = deps
            .store
            .write_claim(customer, claim, expected, None, expires_at)
            .await;
        if !matches!(written, Ok(ClaimWrite::Written)) {
            tokens.unspend(&hour);
        }
        return Ok(Some(written? == ClaimWrite::Written));
    }
    let seed = customer
        .as_str()
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    for take in tokens.plan(&hour, seed, now) {
        match deps
            .store
            .write_claim(customer, claim, expected, Some(&take), expires_at)
            .await?
        {
            ClaimWrite::Written => {
                tokens.took(&take);
                return Ok(Some(true));
            }
            ClaimWrite::Raced => return Ok(Some(false)),
            ClaimWrite::HourlyCapReached => {}
        }
    }
    Ok(None)
}

/// A sender writing more than FLOOD_PER_MINUTE messages a minute: the rest are
/// stored, marked and answered by nobody but an agent.
async fn flooding<S: Store, O: Outbound>(
    message: &Message,
    customer: &ConversationId,
    sent_at: DateTime<Utc>,
    deps: &AutoReply<S, O>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let minute = sent_at.format("%Y-%m-%dT%H:%M").to_string();
    if deps
        .store
        .count_intake(customer, &minute, now + Duration::days(1))
        .await?
        <= FLOOD_PER_MINUTE
    {
        return Ok(false);
    }
    deps.store.mark_flood(message).await?;
    warn!(event = "flood", conversation = %message.conversation_id, "sender over the per-minute intake limit");
    Ok(true)
}
