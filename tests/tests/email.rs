//! Email end to end at the handler level, against moto (DynamoDB, SES v2, S3): SES
//! notifications into the inbound-email handler, the table's stream into the
//! auto-reply handler, agent replies out through SES, and SES events back as
//! delivery statuses.

use asyncdesk::channels::Channels;
use asyncdesk::conversation::{Author, Channel, ConversationStatus, DeliveryState};
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::email_rig::{Rig, customer, rig, sent_to};
use asyncdesk_tests::kit;
use asyncdesk_tests::mail::{self, Encoding, SUPPORT_ADDRESS, customer_mail};
use asyncdesk_tests::proxy::CountingProxy;
use asyncdesk_tests::{server, tools};
use chrono::Utc;
use inbound_email::{InboundEmail, handle_event};
use serde_json::json;

#[tokio::test]
async fn a_mail_is_stored_once_in_either_encoding_and_under_redelivery() {
    let rig = rig().await;
    let ada = customer("once");
    let m = customer_mail(
        &ada,
        "Refund for order 42",
        "m1@example.org",
        "",
        "Where is my refund?",
    );
    let first = rig.receive(&m, Encoding::Base64, "sns-1").await;
    assert_eq!((first.receipt.stored, first.receipt.duplicates), (1, 0));
    // SNS redelivers the same notification; SES delivers the same mail again.
    let again = rig.receive(&m, Encoding::Base64, "sns-1").await;
    assert_eq!((again.receipt.stored, again.receipt.duplicates), (0, 1));
    let copy = rig.receive(&m, Encoding::Utf8, "sns-2").await;
    assert_eq!(
        (copy.receipt.stored, copy.receipt.duplicates),
        (0, 1),
        "same Message-ID"
    );
    let messages = rig.messages().await;
    assert_eq!(messages.len(), 1);
    let stored = &messages[0];
    assert_eq!(stored.endpoint.channel, Channel::Email);
    assert_eq!(stored.endpoint.customer_id, ada);
    assert_eq!(stored.text(), Some("Where is my refund?"));
    assert_eq!(
        stored.mail.as_ref().unwrap().subject.as_deref(),
        Some("Refund for order 42")
    );
    let conversation = rig
        .table
        .store
        .get_conversation(&stored.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.status, ConversationStatus::Open);
    assert_eq!(conversation.subject.as_deref(), Some("Refund for order 42"));
    assert_eq!(conversation.reply_to.as_deref(), Some("m1@example.org"));
}

#[tokio::test]
async fn one_write_per_mail_and_one_read_only_for_a_thread_lookup() {
    let proxy_rig = {
        let (proxy, _task) = CountingProxy::start(tools::shared_endpoint()).await;
        let rig = rig().await;
        let store = rig.table.store_via(&proxy.endpoint).await;
        let deps = InboundEmail {
            store,
            objects: mail::s3_objects(tools::shared_endpoint()).await,
            settings: mail::settings(),
        };
        (proxy, _task, rig, deps)
    };
    let (proxy, _task, _rig, deps) = proxy_rig;
    let ada = customer("count");
    let receive = |mail: Vec<u8>, id: &'static str| {
        let n = mail::received_notification(&mail, Encoding::Base64, id);
        mail::sns_event(&[(id, &n)])
    };
    let ops = |proxy: &CountingProxy| -> Vec<String> {
        proxy
            .operations()
            .iter()
            .map(|o| o.rsplit('.').next().unwrap().to_string())
            .collect()
    };
    // A new mail with a subject: one read (is there a conversation with this
    // subject?) and one write.
    handle_event(
        receive(
            customer_mail(&ada, "Hello", "c1@example.org", "", "hi"),
            "n1",
        ),
        &deps,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        ops(&proxy),
        [
            "BatchGetItem",
            "GetItem",
            "TransactWriteItems",
            "UpdateItem"
        ]
    );
    proxy.reset();
    let conversation = mail::settings();
    let id =
        asyncdesk::channels::email::inbound::new_thread_id(&conversation, &ada, "c1@example.org");
    let tagged = customer_mail(&ada, "Re: Hello", "c2@example.org", "", "more")
        .replace_to(&format!("support+{id}@acme.example"));
    handle_event(receive(tagged, "n2"), &deps, Utc::now())
        .await
        .unwrap();
    // A reply by our Reply-To token (and its subject): one read of the thread links,
    // one of the conversations found (is the sender part of them?), the writes.
    assert_eq!(
        ops(&proxy),
        [
            "BatchGetItem",
            "BatchGetItem",
            "GetItem",
            "TransactWriteItems",
            "UpdateItem"
        ]
    );
    // A mail without a subject or thread headers: nothing to look up.
    proxy.reset();
    handle_event(
        receive(customer_mail(&ada, "", "c3@example.org", "", "hi"), "n3"),
        &deps,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(ops(&proxy), ["GetItem", "TransactWriteItems", "UpdateItem"]);
}

trait ReplaceTo {
    fn replace_to(self, to: &str) -> Vec<u8>;
}

impl ReplaceTo for Vec<u8> {
    fn replace_to(self, to: &str) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replace(&format!("To: {}", mail::SUPPORT), &format!("To: {to}"))
            .into_bytes()
    }
}

#[tokio::test]
async fn replies_thread_by_headers_by_ses_ids_by_token_and_by_subject() {
    let rig = rig().await;
    let ada = customer("thread");
    rig.receive(
        &customer_mail(&ada, "Broken kettle", "k1@example.org", "", "It leaks."),
        Encoding::Base64,
        "t1",
    )
    .await;
    let conversations = rig.conversation_ids().await;
    assert_eq!(conversations.len(), 1);
    let conversation = conversations[0].clone();

    // The agent answers: In-Reply-To and References name the customer's mail, the
    // Reply-To carries the conversation's token.
    let (status, body) = rig
        .agent_reply(&conversation, "Sorry! A new one is on its way.")
        .await;
    assert_eq!(status, 201, "{body}");
    let sent = sent_to(&ada).await;
    assert_eq!(sent.len(), 1);
    let reply = &sent[0];
    assert_eq!(
        reply.header("In-Reply-To").as_deref(),
        Some("<k1@example.org>")
    );
    assert_eq!(
        reply.header("References").as_deref(),
        Some("<k1@example.org>")
    );
    assert_eq!(reply.parsed().subject(), Some("Re: Broken kettle"));
    assert!(
        reply.header("Auto-Submitted").is_none(),
        "an agent's reply is no auto-reply"
    );
    assert_eq!(
        reply
            .parsed()
            .reply_to()
            .unwrap()
            .first()
            .unwrap()
            .address(),
        Some(format!("support+{conversation}@acme.example").as_str())
    );
    let ses_id = body["message"]["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(ses_id, reply.id);

    // The customer answers our mail: SES rewrote its Message-ID to the SES id, in
    // the region's form. Both forms thread.
    for (i, domain) in ["email.amazonses.com", "eu-west-1.amazonses.com"]
        .iter()
        .enumerate()
    {
        let headers = format!(
            "In-Reply-To: <{ses_id}@{domain}>\r\nReferences: <k1@example.org> <{ses_id}@{domain}>\r\n"
        );
        let answer = customer_mail(
            &ada,
            "Re: Broken kettle",
            &format!("k2-{i}@example.org"),
            &headers,
            "Thanks!",
        );
        rig.receive(&answer, Encoding::Utf8, &format!("t2-{i}"))
            .await;
    }
    // A client that drops the headers and the subject: our Reply-To token.
    let token = customer_mail(&ada, "kettle again", "k3@example.org", "", "Still leaking")
        .replace_to(&format!("support+{conversation}@acme.example"));
    rig.receive(&token, Encoding::Base64, "t3").await;
    // A new mail with no thread headers and the same subject (after Re:/AW:).
    rig.receive(
        &customer_mail(
            &ada,
            "AW: Re: Broken kettle",
            "k4@example.org",
            "",
            "Hello?",
        ),
        Encoding::Base64,
        "t4",
    )
    .await;
    assert_eq!(
        rig.conversation_ids().await,
        std::slice::from_ref(&conversation),
        "all in one thread"
    );
    // A different subject starts a conversation of its own.
    rig.receive(
        &customer_mail(
            &ada,
            "Invoice address",
            "k5@example.org",
            "",
            "Please change it.",
        ),
        Encoding::Base64,
        "t5",
    )
    .await;
    assert_eq!(rig.conversation_ids().await.len(), 2);

    // The agent's next reply threads under the customer's latest mail in the thread.
    let (status, _) = rig.agent_reply(&conversation, "Replacement shipped.").await;
    assert_eq!(status, 201);
    let second = sent_to(&ada).await.pop().unwrap();
    assert_eq!(
        second.header("In-Reply-To").as_deref(),
        Some("<k4@example.org>")
    );
    assert_eq!(second.parsed().subject(), Some("Re: Broken kettle"));
    // The thread shows the customer's new text, and the quoted history apart.
    let req = kit::agent_request(
        "GET",
        &format!("/conversations/{conversation}"),
        Some(kit::ALICE_KEY),
        None,
    );
    let (status, thread) = kit::read(agent_reply::handle(&req, &rig.agent, Utc::now()).await);
    assert_eq!(status, 200);
    assert_eq!(thread["messages"].as_array().unwrap().len(), 7, "{thread}");
}

#[tokio::test]
async fn the_quoted_history_is_kept_apart_from_the_new_text() {
    let rig = rig().await;
    let ada = customer("quote");
    let body = "Yes, that works.\r\n\r\nOn Tue, 1 Dec 2026 at 09:00, Acme Support <support@acme.example> wrote:\r\n> Shall we send a new one?\r\n";
    rig.receive(
        &customer_mail(&ada, "Re: Order", "q1@example.org", "", body),
        Encoding::Base64,
        "q1",
    )
    .await;
    let m = rig.messages().await.pop().unwrap();
    assert_eq!(m.text(), Some("Yes, that works."));
    let quoted = m.mail.unwrap().quoted.unwrap();
    assert!(
        quoted.starts_with("On Tue, 1 Dec 2026") && quoted.contains("> Shall we send a new one?"),
        "{quoted}"
    );
}

#[tokio::test]
async fn mail_over_the_sns_limit_is_read_from_s3_and_long_text_is_cut_to_fit() {
    let rig = rig().await;
    let ada = customer("s3");
    // 600 KB of text: more than SNS carries and more than an item holds.
    let long = "All work and no play makes Jack a dull boy. ".repeat(14_000);
    let m = customer_mail(&ada, "Logs", "big@example.org", "", &long);
    assert!(m.len() > 150 * 1024);
    let (bucket, key) = mail::put_mail(tools::shared_endpoint(), "inbound/big", &m).await;
    let n = mail::s3_notification(&bucket, &key, "ses-big", &ada);
    let summary = handle_event(mail::sns_event(&[("s3-1", &n)]), &rig.inbound, Utc::now())
        .await
        .unwrap();
    assert_eq!(summary.receipt.stored, 1);
    let stored = rig.messages().await.pop().unwrap();
    let meta = stored.mail.clone().unwrap();
    assert_eq!(
        meta.source.as_deref(),
        Some(format!("s3://{bucket}/inbound/big").as_str())
    );
    assert!(meta.truncated);
    assert!(stored.text().unwrap().len() <= asyncdesk::channels::email::inbound::MAX_TEXT_BYTES);
    assert!(stored.raw.is_none(), "the source stays in S3");
    // A notification whose object is gone is kept raw; the invocation succeeds.
    let gone = mail::s3_notification(&bucket, "inbound/missing", "ses-gone", &ada);
    let summary = handle_event(
        mail::sns_event(&[("s3-2", &gone)]),
        &rig.inbound,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!((summary.receipt.stored, summary.receipt.rejected), (0, 1));
}

#[tokio::test]
async fn bad_input_is_kept_and_a_store_outage_fails_the_invocation() {
    let rig = rig().await;
    let garbage = json!({"Records": [{"Sns": {"Type": "Notification", "MessageId": "g1", "Message": "Hello\r\nworld!"}}]});
    let summary = handle_event(garbage, &rig.inbound, Utc::now())
        .await
        .unwrap();
    assert_eq!(summary.receipt.rejected, 1);
    let not_sns = json!({"Records": [{"ses": {"mail": {}}}]});
    assert_eq!(
        handle_event(not_sns, &rig.inbound, Utc::now())
            .await
            .unwrap()
            .receipt
            .rejected,
        1
    );
    let not_a_mail = mail::received_notification(b"\x00\x01\x02", Encoding::Base64, "ses-x");
    let summary = handle_event(
        mail::sns_event(&[("g2", &not_a_mail)]),
        &rig.inbound,
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!((summary.receipt.stored, summary.receipt.rejected), (0, 1));
    assert_eq!(
        rig.table.item_types().await,
        ["rejection", "rejection", "rejection"],
        "kept raw, nothing else"
    );
    // The table is down: the invocation fails (Lambda retries, then dead-letters).
    let down = InboundEmail {
        store: kit::unreachable_store().await,
        objects: mail::s3_objects(tools::shared_endpoint()).await,
        settings: mail::settings(),
    };
    let m = customer_mail(&customer("down"), "Hi", "d1@example.org", "", "hello");
    let n = mail::received_notification(&m, Encoding::Base64, "ses-d");
    assert!(
        handle_event(mail::sns_event(&[("d1", &n)]), &down, Utc::now())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn off_hours_mail_gets_one_auto_reply_with_the_right_headers() {
    let rig = rig().await;
    let ada = customer("auto");
    rig.receive(
        &customer_mail(
            &ada,
            "Order status",
            "a1@example.org",
            "References: <a0@example.org>\r\n",
            "Where is it?",
        ),
        Encoding::Base64,
        "a1",
    )
    .await;
    rig.run_stream().await;
    let sent = sent_to(&ada).await;
    assert_eq!(sent.len(), 1, "one auto-reply");
    let auto = &sent[0];
    assert_eq!(
        auto.header("Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        auto.header("X-Auto-Response-Suppress").as_deref(),
        Some("All")
    );
    assert_eq!(auto.parsed().subject(), Some("Auto: Re: Order status"));
    assert_eq!(
        auto.header("In-Reply-To").as_deref(),
        Some("<a1@example.org>")
    );
    assert_eq!(
        auto.header("References").as_deref(),
        Some("<a0@example.org> <a1@example.org>")
    );
    assert!(
        auto.parsed()
            .body_text(0)
            .unwrap()
            .contains("we'll reply by")
    );
    // Another mail in the same period, and one in a new thread: no second reply
    // (per customer, not per conversation). The stream is replayed too.
    rig.receive(
        &customer_mail(&ada, "Order status", "a2@example.org", "", "Hello?"),
        Encoding::Base64,
        "a2",
    )
    .await;
    rig.receive(
        &customer_mail(&ada, "Other topic", "a3@example.org", "", "And this?"),
        Encoding::Base64,
        "a3",
    )
    .await;
    rig.run_stream().await;
    assert_eq!(sent_to(&ada).await.len(), 1);
    // The auto-reply is in the thread, and the conversation still waits for an agent.
    let m = rig.messages().await;
    let auto_reply = m.iter().find(|m| m.author == Author::AutoReply).unwrap();
    assert_eq!(
        auto_reply.delivery.as_ref().unwrap().state,
        DeliveryState::Accepted
    );
    let conversation = rig
        .table
        .store
        .get_conversation(&auto_reply.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.status, ConversationStatus::Open);
}

#[tokio::test]
async fn two_auto_responders_never_ping_pong() {
    let rig = rig().await;
    let bot = customer("vacation");
    // An auto-responder that marks nothing (no Auto-Submitted, no Precedence): the
    // first mail gets our auto-reply; its answers to our auto-reply do not (the
    // period claim; across periods the daily cap ends it, see the store tests).
    rig.receive(
        &customer_mail(&bot, "Hi", "p0@example.org", "", "hi"),
        Encoding::Base64,
        "p0",
    )
    .await;
    rig.run_stream().await;
    for i in 1..6 {
        rig.receive(
            &customer_mail(
                &bot,
                "Re: Hi",
                &format!("p{i}@example.org"),
                "",
                "I am away",
            ),
            Encoding::Base64,
            &format!("p{i}"),
        )
        .await;
        rig.run_stream().await;
    }
    assert_eq!(sent_to(&bot).await.len(), 1);
    // Our own auto-reply coming back (a forwarding loop) is never answered.
    let ours = customer_mail(
        "support@acme.example",
        "Auto: Re: Hi",
        "ours@example.org",
        "Auto-Submitted: auto-replied\r\n",
        "We're away",
    );
    rig.receive(&ours, Encoding::Base64, "ours").await;
    let m = rig
        .messages()
        .await
        .into_iter()
        .find(|m| m.provider_message_id.as_deref() == Some("ours@example.org"))
        .unwrap();
    assert!(!m.wants_answer);
    assert_eq!(m.automated.as_deref(), Some("auto_submitted"));
}

#[tokio::test]
async fn delivery_events_update_our_mail_and_never_go_backwards() {
    let rig = rig().await;
    let ada = customer("events");
    rig.receive(
        &customer_mail(&ada, "Question", "e1@example.org", "", "?"),
        Encoding::Base64,
        "e1",
    )
    .await;
    let conversation = rig.conversation_ids().await.pop().unwrap();
    let (_, body) = rig.agent_reply(&conversation, "Answer.").await;
    let ses_id = body["message"]["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    async fn delivery_of(rig: &Rig, ses_id: &str) -> asyncdesk::conversation::Delivery {
        rig.messages()
            .await
            .into_iter()
            .find(|m| m.provider_message_id.as_deref() == Some(ses_id))
            .unwrap()
            .delivery
            .unwrap()
    }
    let event = |kind: &str, n: &str| {
        let e = mail::ses_event(kind, &ses_id);
        mail::sns_event(&[(n, &e)])
    };
    // Delivered, then a complaint; a late delivery never undoes the complaint.
    for (kind, n, state) in [
        ("Delivery", "ev1", DeliveryState::Delivered),
        ("Complaint", "ev2", DeliveryState::Complained),
        ("Delivery", "ev3", DeliveryState::Complained),
    ] {
        let s = handle_event(event(kind, n), &rig.inbound, Utc::now())
            .await
            .unwrap();
        assert_eq!(s.receipt.statuses, 1);
        assert_eq!(
            delivery_of(&rig, &ses_id).await.state,
            state,
            "{kind} ({n})"
        );
    }
    handle_event(event("Bounce", "ev4"), &rig.inbound, Utc::now())
        .await
        .unwrap();
    let failed = delivery_of(&rig, &ses_id).await;
    assert_eq!(failed.state, DeliveryState::Failed);
    assert_eq!(
        failed.error.unwrap().code.as_deref(),
        Some("bounce:Permanent/General")
    );
}

/// A stand-in for SES's API that answers every SendEmail with `status` and an
/// error of type `code`.
async fn failing_ses(status: u16, code: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = server::serve(listener, move |_req: server::Request| async move {
        let mut resp = server::json_response(
            status,
            &json!({ "message": format!("{code} from the stand-in") }),
        );
        resp.headers_mut()
            .insert("x-amzn-errortype", code.parse().unwrap());
        resp
    });
    (base, task)
}

#[tokio::test]
async fn ses_errors_map_to_the_send_error_classes() {
    use asyncdesk::ports::{Outbound, Outgoing, SendError};
    let endpoint = asyncdesk::conversation::Endpoint {
        channel: Channel::Email,
        business_id: SUPPORT_ADDRESS.into(),
        customer_id: "ada@example.org".into(),
    };
    let outgoing = Outgoing {
        conversation: endpoint.thread_id("x@example.org"),
        covers: None,
        endpoint,
        author: Author::Agent("alice".into()),
        text: "hello".into(),
        template: None,
        promise: None,
        files: Vec::new(),
        reply: None,
    };
    // moto: an unverified sender is refused with MessageRejected.
    let unverified = asyncdesk::channels::email::EmailSettings::new("nobody@unverified.example");
    let sender = mail::ses_sender(tools::shared_endpoint(), unverified).await;
    let channels = Channels::default().with(Channel::Email, std::sync::Arc::new(sender));
    let err = channels.send(&outgoing).await.unwrap_err();
    assert!(
        matches!(&err, SendError::Rejected(e) if e.code.as_deref() == Some("MessageRejected")),
        "{err:?}"
    );
    for (status, code, check) in [
        (
            429,
            "TooManyRequestsException",
            (|e: &SendError| matches!(e, SendError::RateLimited { .. })) as fn(&SendError) -> bool,
        ),
        (400, "MailFromDomainNotVerifiedException", |e| {
            matches!(e, SendError::Rejected(_))
        }),
        (400, "AccountSuspendedException", |e| {
            matches!(e, SendError::Unauthorized(_))
        }),
        (503, "ServiceUnavailable", |e| {
            matches!(e, SendError::Unavailable(_))
        }),
        // SES failed while handling it: the mail may be out, so never sent again.
        (500, "InternalFailure", |e| {
            matches!(e, SendError::Unconfirmed(_))
        }),
    ] {
        let (base, _task) = failing_ses(status, code).await;
        let channels = mail::email_channels(&base).await;
        let err = channels.send(&outgoing).await.unwrap_err();
        assert!(check(&err), "{code}: {err:?}");
    }
    // SES unreachable: nothing was sent, retrying is safe.
    let closed = format!("http://127.0.0.1:{}", tools::free_port());
    let err = mail::email_channels(&closed)
        .await
        .send(&outgoing)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn an_agent_reply_refused_by_ses_is_a_4xx_and_stays_in_the_thread_as_failed() {
    let rig = rig().await;
    let ada = customer("refused");
    rig.receive(
        &customer_mail(&ada, "Hi", "r1@example.org", "", "hi"),
        Encoding::Base64,
        "r1",
    )
    .await;
    let conversation = rig.conversation_ids().await.pop().unwrap();
    let (base, _task) = failing_ses(400, "MessageRejected").await;
    let agent = kit::agent(rig.table.store.clone(), mail::email_channels(&base).await);
    let req = kit::agent_request(
        "POST",
        &format!("/conversations/{conversation}/messages"),
        Some(kit::ALICE_KEY),
        Some(json!({"text": "hello"})),
    );
    let (status, body) = kit::read(agent_reply::handle(&req, &agent, Utc::now()).await);
    assert_eq!(status, 422, "{body}");
    let failed = rig
        .messages()
        .await
        .into_iter()
        .find(|m| m.author == Author::Agent("alice".into()))
        .unwrap();
    assert_eq!(failed.delivery.unwrap().state, DeliveryState::Failed);
}

#[tokio::test]
async fn spam_is_stored_as_spam_and_never_answered() {
    let rig = rig().await;
    let spammer = customer("spam");
    let m = customer_mail(&spammer, "You won", "s1@example.org", "", "Click here");
    let mut n = mail::received_notification(&m, Encoding::Base64, "ses-spam");
    n["receipt"]["spamVerdict"]["status"] = json!("FAIL");
    let summary = handle_event(mail::sns_event(&[("spam-1", &n)]), &rig.inbound, Utc::now())
        .await
        .unwrap();
    assert_eq!(summary.receipt.stored, 1, "kept, not dropped");
    let stored = rig.messages().await.pop().unwrap();
    assert_eq!(stored.automated.as_deref(), Some("spam"));
    assert!(!stored.wants_answer);
    let conversation = rig
        .table
        .store
        .get_conversation(&stored.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        conversation.status,
        ConversationStatus::Resolved,
        "not in the open queue"
    );
    rig.run_stream().await;
    assert!(sent_to(&spammer).await.is_empty());
}
