//! The reports' waits, from the table's stream: each change of a conversation item
//! (its old and new image) starts, promises or ends a wait (`reports::changes`),
//! measured under the current business hours and written by one conditional update.
//! A redelivered record writes nothing new; nothing here touches the intake path.

use crate::{AutoReply, Outcome, RecordError, Store};
use asyncdesk::ports::Outbound;
use asyncdesk::reports::{self, WaitChange, measure::measure};
use asyncdesk::store::waits::side_of_image;
use aws_lambda_events::event::dynamodb::EventRecord;

/// Whether a stream record is a conversation item's change.
pub fn is_conversation(record: &EventRecord) -> bool {
    let of = |image: &serde_dynamo::Item| {
        matches!(image.get("item_type"),
            Some(serde_dynamo::AttributeValue::S(t)) if t == asyncdesk::store::items::TYPE_CONVERSATION)
    };
    of(&record.change.new_image) || of(&record.change.old_image)
}

/// The conversation a conversation item's record is about.
pub fn conversation_of(record: &EventRecord) -> Option<String> {
    [&record.change.new_image, &record.change.old_image]
        .into_iter()
        .find_map(|i| side_of_image(i.clone()).ok().flatten())
        .map(|side| side.id.as_str().to_string())
}

pub async fn record<S: Store, O: Outbound>(
    record: &EventRecord,
    deps: &AutoReply<S, O>,
) -> Result<Outcome, RecordError> {
    let side = |image: &serde_dynamo::Item| {
        if image.is_empty() {
            return Ok(None);
        }
        side_of_image(image.clone()).map_err(|e| RecordError::Unreadable(e.to_string()))
    };
    let old = side(&record.change.old_image)?;
    let new = side(&record.change.new_image)?;
    let changes = reports::changes(old.as_ref(), new.as_ref());
    let mut written = 0;
    for change in &changes {
        let mut change = change.clone();
        if let WaitChange::End { key, told, .. } = &mut change {
            // Measured by the first promise told for the wait, as recorded; a wait
            // ended already is a redelivery.
            let stored = deps.store.get_wait(key).await?;
            if stored.as_ref().is_some_and(|w| w.ended_at.is_some()) {
                continue;
            }
            if let Some(first) = stored.and_then(|w| w.told_reply_by) {
                *told = Some(first);
            }
        }
        let measured = match &change {
            WaitChange::Start { key, .. } => measure(&deps.hours, key.started_at, None, None),
            WaitChange::Promise { key, reply_by } => {
                measure(&deps.hours, key.started_at, None, Some(*reply_by))
            }
            WaitChange::End {
                key,
                at,
                outcome,
                told,
                ..
            } => measure(&deps.hours, key.started_at, Some((*at, *outcome)), *told),
        };
        deps.store.record_wait(&change, &measured).await?;
        written += 1;
    }
    Ok(Outcome::Waits(written))
}
