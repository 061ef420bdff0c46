//! Outbound messages and what happens to them: the `sending` record, the outcome
//! (with the provider link a delivery status finds it by), statuses (never going
//! backwards, parked when they overtake the outcome), a blocked customer, and the
//! elements a webhook could not read.

use super::items::*;
use super::{OutboundEffect, StatusApplied, StoreError};
use crate::conversation::{ConversationId, Delivery, Message, Rejection, StatusUpdate};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use sha2::Digest;

use super::dynamo::*;
use super::expr::condition_failed;

impl DynamoStore {
    pub(super) async fn mark_blocked_impl(
        &self,
        id: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(conversation_pk(id)))
            .key(SK, s(META))
            .update_expression("SET #bl = :t, #ua = :now, #ch = :ch, #ca = :ca")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#bl", "blocked")
            .expression_attribute_names("#ua", "updated_at")
            .expression_attribute_names("#ch", CH)
            .expression_attribute_names("#ca", CH_AT)
            .expression_attribute_values(":ch", s(change_shard(id)))
            .expression_attribute_values(":ca", feed_fields(id)[1].1.clone())
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .send()
            .await
            .map_err(|e| {
                if condition_failed(&e) {
                    StoreError::NotFound(format!("conversation {id}"))
                } else {
                    unavailable(e)
                }
            })?;
        Ok(())
    }

    pub(super) async fn apply_status_impl(
        &self,
        update: &StatusUpdate,
    ) -> Result<StatusApplied, StoreError> {
        let link_pk = provider_link_pk(
            update.channel,
            &update.business_id,
            &update.provider_message_id,
        );
        let delivery = Delivery {
            state: update.state,
            at: update.at,
            error: update.error.clone(),
        };
        let delivery = serde_dynamo::to_attribute_value(&delivery)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let rank = update.state.rank();
        for _ in 0..RACE_ROUNDS {
            let link = self.provider_link(&link_pk).await?;
            if let Some((conversation, message_sk)) = link.as_ref().and_then(linked_message) {
                let conversation = ConversationId::parse(conversation).ok_or_else(|| {
                    StoreError::Corrupt("provider link with a bad conversation id".into())
                })?;
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .key(PK, s(conversation_pk(&conversation)))
                    .key(SK, s(message_sk))
                    .update_expression("SET #d = :d, #r = :r")
                    .condition_expression(
                        "attribute_exists(pk) AND (attribute_not_exists(#r) OR #r < :r)",
                    )
                    .expression_attribute_names("#d", "delivery")
                    .expression_attribute_names("#r", "delivery_rank")
                    .expression_attribute_values(":d", delivery)
                    .expression_attribute_values(":r", n(rank))
                    .send()
                    .await;
                return match result {
                    Ok(_) => {
                        if update.state == crate::conversation::DeliveryState::Failed {
                            self.reopen_for_failure(&conversation, update.at).await?;
                        }
                        Ok(StatusApplied::Applied)
                    }
                    Err(e) if condition_failed(&e) => Ok(StatusApplied::Stale),
                    Err(e) => Err(unavailable(e)),
                };
            }
            // No message carries this provider id yet: the status overtook the final
            // write of its message (which takes it over), or the message was not sent
            // through asyncdesk (the parked status expires). Only a later state
            // replaces a parked one, and none once the message is linked.
            if link.as_ref().and_then(parked_rank) >= Some(rank) {
                return Ok(StatusApplied::Stale);
            }
            let parked = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(PK, s(&link_pk))
                .key(SK, s("PMSG"))
                .update_expression("SET #ty = :ty, #d = :d, #r = :r, #x = :x")
                .condition_expression(
                    "attribute_not_exists(conversation_id) AND (attribute_not_exists(#r) OR #r < :r)",
                )
                .expression_attribute_names("#ty", "item_type")
                .expression_attribute_names("#d", PARKED_DELIVERY)
                .expression_attribute_names("#r", PARKED_RANK)
                .expression_attribute_names("#x", EXPIRES_AT)
                .expression_attribute_values(":ty", s(TYPE_PROVIDER_LINK))
                .expression_attribute_values(":d", delivery.clone())
                .expression_attribute_values(":r", n(rank))
                .expression_attribute_values(
                    ":x",
                    n(update.at.timestamp() + PARKED_STATUS_TTL_SECS),
                )
                .send()
                .await;
            match parked {
                Ok(_) => return Ok(StatusApplied::Parked),
                // Linked or overtaken meanwhile: look again.
                Err(e) if condition_failed(&e) => continue,
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Unavailable(format!(
            "provider link {link_pk} kept changing"
        )))
    }

    pub(super) async fn record_outbound_impl(
        &self,
        message: &Message,
        effect: OutboundEffect,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut message = message.clone();
        // The rank of a parked status this write takes over (see `apply_status`).
        let mut taking_over: Option<u8> = None;
        for _ in 0..RACE_ROUNDS {
            let item = self.message_item(&message);
            // Replaces the message's `sending` record, if it has one (ids are fresh UUIDs).
            let mut items = vec![self.put(to_item(&item)?, None)?];
            let link_index = match &message.provider_message_id {
                Some(pid) => {
                    let pk = provider_link_pk(
                        message.endpoint.channel,
                        &message.endpoint.business_id,
                        pid,
                    );
                    let expires = now.timestamp() + PROVIDER_LINK_TTL_SECS;
                    let mut link = link_item(pk, "PMSG", TYPE_PROVIDER_LINK, &message, expires);
                    link.insert("message_sk".into(), s(&item.sk));
                    items.push(match taking_over {
                        None => self.put(link, Some("attribute_not_exists(pk)"))?,
                        Some(rank) => self.put_if(
                            link,
                            Some(&format!(
                                "attribute_not_exists(conversation_id) AND {PARKED_RANK} = :parked"
                            )),
                            vec![(":parked", n(rank))],
                        )?,
                    });
                    Some(items.len() - 1)
                }
                None => None,
            };
            items.extend(self.thread_links(&message, now)?);
            items.extend(self.mail_watch_write(&message, now)?);
            let conv_index = items.len();
            items.push(
                self.outbound_conversation_write(&message, effect, now)
                    .await?,
            );
            let failed = match self.transact(items).await {
                Ok(()) => return Ok(()),
                Err(TransactFailure::Store(e)) => return Err(e),
                Err(TransactFailure::Condition(failed)) => failed,
            };
            if failed.contains(&conv_index) {
                // A state change is read again and decided anew (a customer message
                // newer than the ones the reply answered keeps it open); a write
                // that needs only the conversation to exist found none.
                if super::outbound::is_transition(&message, effect) {
                    continue;
                }
                return Err(StoreError::NotFound(format!(
                    "conversation {}",
                    message.conversation_id
                )));
            }
            // Only the link's condition is left that can have failed.
            let link_failed = link_index.is_some_and(|i| failed.contains(&i));
            let Some(pid) = message
                .provider_message_id
                .as_deref()
                .filter(|_| link_failed)
            else {
                return Err(StoreError::Corrupt(format!(
                    "unexpected condition failure storing message {}",
                    message.id
                )));
            };
            // A status callback overtook this write and was parked on the link:
            // take it over into the message, then write again.
            let link = self
                .provider_link(&provider_link_pk(
                    message.endpoint.channel,
                    &message.endpoint.business_id,
                    pid,
                ))
                .await?
                .unwrap_or_default();
            if linked_message(&link).is_some() {
                return Err(StoreError::Corrupt(format!(
                    "provider message id {pid} is already linked to a message"
                )));
            }
            taking_over = parked_rank(&link);
            if let Some(parked) = link.get(PARKED_DELIVERY) {
                let parked: Delivery = serde_dynamo::from_attribute_value(parked.clone())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let current = message.delivery.as_ref().map_or(0, |d| d.state.rank());
                if parked.state.rank() > current {
                    message.delivery = Some(parked);
                }
            }
        }
        Err(StoreError::Unavailable(format!(
            "delivery statuses of message {} kept changing",
            message.id
        )))
    }

    pub(super) async fn record_sending_impl(&self, message: &Message) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&self.message_item(message))?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    pub(super) async fn record_rejection_impl(&self, r: &Rejection) -> Result<(), StoreError> {
        // Keyed by the content, so a redelivery overwrites instead of adding.
        let digest = hex::encode(&sha2::Sha256::digest(r.raw.as_bytes())[..16]);
        let mut item = Item::from([
            (PK.into(), s(rejection_pk(r.channel))),
            (SK.into(), s(digest)),
            ("received_at".into(), n(r.received_at.timestamp_millis())),
            ("item_type".into(), s(TYPE_REJECTION)),
            ("path".into(), s(&r.path)),
            ("reason".into(), s(&r.reason)),
            ("raw".into(), s(truncate(&r.raw, MAX_RAW_BYTES))),
            (
                EXPIRES_AT.into(),
                n(r.received_at.timestamp() + REJECTION_TTL_SECS),
            ),
        ]);
        if let Some(b) = &r.business_id {
            item.insert("business_id".into(), s(b));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
