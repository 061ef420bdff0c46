//! Email trusts only what SES authenticated (issue 14, part 1), against moto: who
//! gets an auto-reply, who may enter a thread, and the deployment's hourly cap.

use asyncdesk::conversation::{Conversation, ConversationId};
use asyncdesk::store::ConversationStore;
use asyncdesk_tests::email_rig::{Rig, customer, rig, sent_to};
use asyncdesk_tests::kit;
use asyncdesk_tests::mail::customer_mail;
use chrono::Utc;

const FORGED: (&str, &str, Option<&str>) = ("FAIL", "FAIL", Some("FAIL"));
const GOOD: (&str, &str, Option<&str>) = ("PASS", "PASS", Some("PASS"));

async fn conversation(rig: &Rig, id: &str) -> Conversation {
    rig.table
        .store
        .get_conversation(&ConversationId::parse(id).unwrap())
        .await
        .unwrap()
        .expect("stored")
}

async fn queue(rig: &Rig) -> serde_json::Value {
    let req = kit::agent_request("GET", "/conversations", Some(kit::ALICE_KEY), None);
    let (status, body) = kit::read(agent_reply::handle(&req, &rig.agent, Utc::now()).await);
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn forged_senders_get_no_auto_reply_and_show_as_unverified() {
    let rig = rig().await;
    // N off-hours mails, each naming another victim in Reply-To, none authenticated.
    let from = customer("forged");
    let victims: Vec<String> = (0..4).map(|i| customer(&format!("victim{i}"))).collect();
    for (i, victim) in victims.iter().enumerate() {
        let mail = customer_mail(
            &from,
            "Your invoice",
            &format!("forged-{i}@example.org"),
            &format!("Reply-To: {victim}\r\n"),
            "Click here.",
        );
        rig.receive_checked(&mail, &format!("f{i}"), FORGED, None)
            .await;
    }
    rig.run_stream().await;
    for victim in &victims {
        assert!(sent_to(victim).await.is_empty(), "no mail to {victim}");
    }
    assert!(sent_to(&from).await.is_empty());
    // Stored, shown as unverified, each in a conversation of its own.
    let messages = rig.messages().await;
    assert_eq!(messages.len(), victims.len());
    assert!(messages.iter().all(|m| m.unverified && !m.wants_answer));
    let ids = rig.conversation_ids().await;
    assert_eq!(ids.len(), victims.len());
    let body = queue(&rig).await;
    let rows = body["conversations"].as_array().unwrap();
    assert_eq!(rows.len(), victims.len());
    assert!(rows.iter().all(|r| r["unverified"] == true), "{body}");
}

#[tokio::test]
async fn the_auto_reply_goes_only_to_the_authenticated_address() {
    let rig = rig().await;
    // DMARC passes for From; Reply-To names another domain.
    let ada = customer("dmarc");
    let elsewhere = customer("replyto").replace("example.org", "elsewhere.example");
    let mail = customer_mail(
        &ada,
        "Order 42",
        "d1@example.org",
        &format!("Reply-To: {elsewhere}\r\n"),
        "Where is it?",
    );
    rig.receive_checked(&mail, "d1", GOOD, None).await;
    // SPF only: the envelope sender is authenticated, From is not.
    let bob = customer("spf");
    let envelope = customer("bounces-of-bob").replace("example.org", "mailer.example.net");
    let mail = customer_mail(
        &bob,
        "Order 43",
        "s1@example.org",
        &format!("Return-Path: <{envelope}>\r\n"),
        "And mine?",
    );
    rig.receive_checked(&mail, "s1", ("PASS", "FAIL", Some("FAIL")), None)
        .await;
    rig.run_stream().await;
    assert_eq!(
        sent_to(&ada).await.len(),
        1,
        "to the DMARC-authenticated From"
    );
    assert!(
        sent_to(&elsewhere).await.is_empty(),
        "never to a foreign Reply-To"
    );
    assert_eq!(
        sent_to(&envelope).await.len(),
        1,
        "to the SPF-authenticated sender"
    );
    assert!(
        sent_to(&bob).await.is_empty(),
        "never to an unauthenticated From"
    );

    // An agent (a person who read it) answers where the customer asked: Reply-To,
    // and the conversation says so.
    let ada_conversation = rig
        .messages()
        .await
        .into_iter()
        .find(|m| m.endpoint.customer_id == ada)
        .unwrap()
        .conversation_id;
    let c = conversation(&rig, ada_conversation.as_str()).await;
    assert_eq!(c.reply_address.as_deref(), Some(elsewhere.as_str()));
    assert!(!c.unverified);
    let (status, body) = rig
        .agent_reply(ada_conversation.as_str(), "On its way.")
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(sent_to(&elsewhere).await.len(), 1);
    assert_eq!(body["message"]["customer_id"], elsewhere.as_str());
}

#[tokio::test]
async fn a_stranger_cannot_enter_a_customers_thread() {
    let rig = rig().await;
    let ada = customer("victim");
    rig.receive_checked(
        &customer_mail(&ada, "Refund", "a1@example.org", "", "Please refund."),
        "a1",
        GOOD,
        None,
    )
    .await;
    let ids = rig.conversation_ids().await;
    let ada_id = ids[0].clone();
    let token = format!("support+{ada_id}@acme.example");

    // Mallory, authenticated as herself: by In-Reply-To, by subject, by token.
    let mallory = customer("mallory").replace("example.org", "attacker.example");
    let attempts = [
        customer_mail(
            &mallory,
            "Re: Refund",
            "m1@attacker.example",
            "In-Reply-To: <a1@example.org>\r\nReferences: <a1@example.org>\r\n",
            "Send it to my account instead.",
        ),
        customer_mail(&mallory, "Refund", "m2@attacker.example", "", "Me too."),
        customer_mail(&mallory, "x", "m3@attacker.example", "", "Via the token."),
    ];
    for (i, mail) in attempts.iter().enumerate() {
        let recipients = [token.as_str()];
        rig.receive_checked(
            mail,
            &format!("m{i}"),
            GOOD,
            (i == 2).then_some(&recipients[..]),
        )
        .await;
    }
    // A forged "Ada" (nothing authenticated) answering her own thread.
    rig.receive_checked(
        &customer_mail(
            &ada,
            "Re: Refund",
            "forged@example.org",
            "In-Reply-To: <a1@example.org>\r\n",
            "Change my address.",
        ),
        "forged",
        FORGED,
        Some(&[token.as_str()]),
    )
    .await;

    let c = conversation(&rig, &ada_id).await;
    assert_eq!(c.message_count, 1, "nobody else wrote into Ada's thread");
    assert_eq!(c.endpoint.customer_id, ada);
    assert_eq!(c.customer_name.as_deref(), Some("Ada Lovelace"));
    let others: Vec<String> = rig
        .conversation_ids()
        .await
        .into_iter()
        .filter(|id| *id != ada_id)
        .collect();
    assert!(!others.is_empty());
    for id in &others {
        let other = conversation(&rig, id).await;
        // The forged mail is filed under the From it claims, as unverified.
        assert!(
            other.endpoint.customer_id != ada || other.unverified,
            "{id}"
        );
        assert_eq!(
            other.related_to.as_ref().map(|r| r.as_str()),
            Some(ada_id.as_str()),
            "linked to the thread it named: {id}"
        );
    }
}

#[tokio::test]
async fn whoever_we_wrote_to_may_answer_and_a_reply_to_our_auto_reply_joins() {
    let rig = rig().await;
    let ada = customer("thread");
    let colleague = ada.replacen("ada-thread", "colleague", 1);
    rig.receive_checked(
        &customer_mail(
            &ada,
            "Broken kettle",
            "k1@example.org",
            &format!("Reply-To: {colleague}\r\n"),
            "It leaks.",
        ),
        "k1",
        GOOD,
        None,
    )
    .await;
    rig.run_stream().await;
    let id = rig.conversation_ids().await[0].clone();
    // The auto-reply went to Ada; she answers it to our plain address, with another
    // subject, naming its SES id in the region's form.
    let auto = sent_to(&ada).await;
    assert_eq!(auto.len(), 1);
    let answer = customer_mail(
        &ada,
        "kettle still leaking",
        "k2@example.org",
        &format!(
            "In-Reply-To: <{}@eu-west-1.amazonses.com>\r\nReply-To: {colleague}\r\n",
            auto[0].id
        ),
        "Any news?",
    );
    rig.receive_checked(&answer, "k2", GOOD, None).await;
    assert_eq!(
        rig.conversation_ids().await,
        std::slice::from_ref(&id),
        "joined its thread"
    );

    // The agent answers to the Reply-To (the colleague), who answers back.
    let (status, body) = rig.agent_reply(&id, "A new one is on its way.").await;
    assert_eq!(status, 201, "{body}");
    let ours = sent_to(&colleague).await;
    assert_eq!(ours.len(), 1);
    let mut back = String::from_utf8(customer_mail(
        &colleague,
        "Re: Broken kettle",
        "k3@example.org",
        &format!("In-Reply-To: <{}@email.amazonses.com>\r\n", ours[0].id),
        "Thanks from the team.",
    ))
    .unwrap();
    back = back.replace("From: Ada Lovelace", "From: Grace Hopper");
    rig.receive_checked(back.as_bytes(), "k3", GOOD, None).await;
    assert_eq!(rig.conversation_ids().await, std::slice::from_ref(&id));
    let c = conversation(&rig, &id).await;
    assert_eq!(
        c.message_count, 5,
        "3 mails in, the auto-reply and the agent's out"
    );
    assert_eq!(
        c.endpoint.customer_id, ada,
        "a participant changes no customer"
    );
    assert_eq!(c.customer_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(c.reply_address.as_deref(), Some(colleague.as_str()));
}

#[tokio::test]
async fn the_deployment_sends_at_most_its_hourly_cap() {
    let mut rig = rig().await;
    rig.auto_reply.hourly_cap = off_hours_auto_reply::HourlyTokens::new(2);
    let customers: Vec<String> = (0..4).map(|i| customer(&format!("burst{i}"))).collect();
    for (i, c) in customers.iter().enumerate() {
        rig.receive_checked(
            &customer_mail(
                c,
                "Hello",
                &format!("h{i}@example.org"),
                "",
                "Anyone there?",
            ),
            &format!("h{i}"),
            GOOD,
            None,
        )
        .await;
    }
    rig.run_stream().await;
    let mut sent = 0;
    for c in &customers {
        sent += sent_to(c).await.len();
    }
    assert_eq!(sent, 2, "the hourly cap for the whole deployment");
}

#[tokio::test]
async fn a_reply_carries_our_earlier_mail_when_the_customers_client_dropped_it() {
    let rig = rig().await;
    let ada = customer("refs");
    rig.receive_checked(
        &customer_mail(&ada, "Lamp", "l1@example.org", "", "It flickers."),
        "l1",
        GOOD,
        None,
    )
    .await;
    let id = rig.conversation_ids().await[0].clone();
    let (status, first) = rig.agent_reply(&id, "Try another bulb.").await;
    assert_eq!(status, 201, "{first}");
    let ours = first["message"]["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Ada answers through our Reply-To token, from a client that keeps no headers.
    let token = format!("support+{id}@acme.example");
    rig.receive_checked(
        &customer_mail(&ada, "lamp", "l2@example.org", "", "Still flickers."),
        "l2",
        GOOD,
        Some(&[token.as_str()]),
    )
    .await;
    assert_eq!(rig.conversation_ids().await, std::slice::from_ref(&id));
    let (status, _) = rig.agent_reply(&id, "Sending a new lamp.").await;
    assert_eq!(status, 201);
    let sent = sent_to(&ada).await;
    let second = sent.last().unwrap();
    let references = second.header("References").unwrap();
    assert!(
        references.contains(&format!("<{ours}@"))
            && references.trim_end().ends_with("<l2@example.org>"),
        "our earlier mail, then the customer's: {references}"
    );
    assert_eq!(
        second.header("In-Reply-To").as_deref(),
        Some("<l2@example.org>")
    );
}
