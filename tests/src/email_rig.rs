//! The email test rig: SES notifications into the inbound-email handler, the
//! table's stream into the auto-reply handler, agent replies out through SES, all
//! against moto.

use crate::kit::{self, TestTable};
use crate::mail::{self, Encoding, SUPPORT_ADDRESS};
use crate::tools;
use agent_reply::Agent;
use asyncdesk::channels::Channels;
use asyncdesk::conversation::Message;
use asyncdesk::objects::S3Objects;
use asyncdesk::store::dynamo::DynamoStore;
use chrono::Utc;
use inbound_email::{InboundEmail, handle_event};
use off_hours_auto_reply::AutoReply;
use serde_json::{Value, json};

pub struct Rig {
    pub table: TestTable,
    pub inbound: InboundEmail<DynamoStore, S3Objects>,
    pub agent: Agent<DynamoStore, Channels>,
    pub auto_reply: AutoReply<DynamoStore, Channels>,
}

pub async fn rig() -> Rig {
    let endpoint = tools::shared_endpoint();
    let table = TestTable::new().await;
    mail::verify_identity(endpoint, SUPPORT_ADDRESS).await;
    let channels = mail::email_channels(endpoint).await;
    let settings = mail::settings();
    Rig {
        inbound: InboundEmail {
            store: table.store.clone(),
            objects: mail::s3_objects(endpoint).await,
            settings: settings.clone(),
        },
        agent: kit::agent(table.store.clone(), channels.clone()),
        auto_reply: kit::auto_reply(
            table.store.clone(),
            channels,
            &kit::closed_now_hours("We're away; we'll reply by {reply_by}."),
            settings.own_addresses,
        ),
        table,
    }
}

pub fn customer(tag: &str) -> String {
    format!("ada-{tag}-{}@example.org", uuid::Uuid::new_v4().simple())
}

impl Rig {
    /// Delivers `mail` as SNS notification `sns_id` (SNS action).
    pub async fn receive(
        &self,
        mail: &[u8],
        encoding: Encoding,
        sns_id: &str,
    ) -> inbound_email::Summary {
        let notification = mail::received_notification(mail, encoding, &format!("ses-{sns_id}"));
        handle_event(
            mail::sns_event(&[(sns_id, &notification)]),
            &self.inbound,
            Utc::now(),
        )
        .await
        .expect("handled")
    }

    /// Delivers `mail` with SES's verdicts and, when given, envelope recipients.
    pub async fn receive_checked(
        &self,
        mail: &[u8],
        sns_id: &str,
        (spf, dkim, dmarc): (&str, &str, Option<&str>),
        recipients: Option<&[&str]>,
    ) -> inbound_email::Summary {
        let n = mail::received_notification(mail, Encoding::Base64, &format!("ses-{sns_id}"));
        let mut n = mail::with_verdicts(n, spf, dkim, dmarc);
        if let Some(r) = recipients {
            n = mail::with_recipients(n, r);
        }
        handle_event(mail::sns_event(&[(sns_id, &n)]), &self.inbound, Utc::now())
            .await
            .expect("handled")
    }

    pub async fn messages(&self) -> Vec<Message> {
        self.table.messages().await
    }

    pub async fn conversation_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .table
            .items_of("conversation")
            .await
            .iter()
            .map(|i| i["id"].as_s().unwrap().clone())
            .collect();
        ids.sort();
        ids
    }

    pub async fn agent_reply(&self, conversation: &str, text: &str) -> (u16, Value) {
        let req = kit::agent_request(
            "POST",
            &format!("/conversations/{conversation}/messages"),
            Some(kit::ALICE_KEY),
            Some(json!({ "text": text })),
        );
        kit::read(agent_reply::handle(&req, &self.agent, Utc::now()).await)
    }

    /// Runs the stream's new records through the auto-reply handler.
    pub async fn run_stream(&self) {
        let event = self.table.stream_event().await;
        off_hours_auto_reply::handle_batch(event, &self.auto_reply, Utc::now()).await;
    }
}

pub async fn sent_to(address: &str) -> Vec<mail::SentMail> {
    mail::sent_mail(tools::shared_endpoint())
        .await
        .into_iter()
        .filter(|m| m.destinations.iter().any(|d| d.contains(address)))
        .collect()
}
