//! The loop guard's rules, one case each.

use super::*;
use crate::conversation::{Channel, Endpoint, Origin};
use chrono::Utc;

fn mail(headers: &[(&str, &str)], from: &str) -> Message {
    let ep = Endpoint {
        channel: Channel::Email,
        business_id: "support@example.com".into(),
        customer_id: from.into(),
    };
    let mut m = Message::inbound(
        ep,
        "m1",
        Content::Text { text: "hi".into() },
        Utc::now(),
        Utc::now(),
    );
    m.origin = Origin {
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        from: Some(from.into()),
        envelope_sender: Some(from.into()),
        ..Origin::default()
    };
    m
}

#[test]
fn each_rule_has_its_reason() {
    let own = ["support@example.com".to_string()];
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, Option<Reason>);
    let cases: &[Case] = &[
        (&[], "ada@example.org", None),
        (&[("auto-submitted", "no")], "ada@example.org", None),
        (
            &[("auto-submitted", "No (a person)")],
            "ada@example.org",
            None,
        ),
        (
            &[("auto-submitted", "auto-replied")],
            "ada@example.org",
            Some(Reason::AutoSubmitted),
        ),
        (
            &[("auto-submitted", "auto-generated (failure)")],
            "ada@example.org",
            Some(Reason::AutoSubmitted),
        ),
        (
            &[("precedence", "Bulk")],
            "ada@example.org",
            Some(Reason::Precedence),
        ),
        (&[("precedence", "first-class")], "ada@example.org", None),
        (
            &[("list-id", "<x.lists.example>")],
            "ada@example.org",
            Some(Reason::MailingList),
        ),
        (
            &[("list-unsubscribe", "<mailto:x>")],
            "ada@example.org",
            Some(Reason::MailingList),
        ),
        (
            &[("x-auto-response-suppress", "DR, OOF, AutoReply")],
            "ada@example.org",
            Some(Reason::SuppressRequested),
        ),
        (
            &[("x-auto-response-suppress", "DR")],
            "ada@example.org",
            None,
        ),
        (
            &[("x-autoreply", "yes")],
            "ada@example.org",
            Some(Reason::AutoResponder),
        ),
        (
            &[("x-autorespond", "x")],
            "ada@example.org",
            Some(Reason::AutoResponder),
        ),
        (
            &[("x-failed-recipients", "a@b")],
            "ada@example.org",
            Some(Reason::Bounce),
        ),
        (
            &[("return-path", "<>")],
            "ada@example.org",
            Some(Reason::NullSender),
        ),
        (&[], "MAILER-DAEMON@example.org", Some(Reason::RobotAddress)),
        (&[], "postmaster@example.org", Some(Reason::RobotAddress)),
        (&[], "no-reply@shop.example", Some(Reason::RobotAddress)),
        (&[], "do_not_reply@shop.example", Some(Reason::RobotAddress)),
        (&[], "owner-list@lists.example", Some(Reason::RobotAddress)),
        (
            &[],
            "list-request@lists.example",
            Some(Reason::RobotAddress),
        ),
        (&[], "Support@Example.com", Some(Reason::OwnAddress)),
        (&[], "support+em-1@example.com", Some(Reason::OwnAddress)),
        (&[], "noreplyless@example.org", Some(Reason::RobotAddress)),
        (&[], "norbert@example.org", None),
    ];
    for (headers, from, want) in cases {
        assert_eq!(
            check(&mail(headers, from), &own),
            *want,
            "{headers:?} {from}"
        );
    }
    let mut report = mail(&[], "ada@example.org");
    report.origin.content_type = Some("multipart/report; report-type=delivery-status".into());
    assert_eq!(check(&report, &own), Some(Reason::Bounce));
    let mut null = mail(&[], "ada@example.org");
    null.origin.envelope_sender = Some(String::new());
    assert_eq!(check(&null, &own), Some(Reason::NullSender));
    let mut spam = mail(&[], "ada@example.org");
    spam.origin.verdict = Some("spam FAIL".into());
    assert_eq!(check(&spam, &own), Some(Reason::Spam));
    let mut domain = mail(&[], "boss@example.com");
    assert_eq!(
        check(&domain, &["@example.com".into()]),
        Some(Reason::OwnAddress)
    );
    domain.author = Author::AutoReply;
    assert_eq!(check(&domain, &[]), Some(Reason::NotFromCustomer));
}

#[test]
fn judge_sets_wants_answer_and_automated() {
    let mut bot = mail(&[], "ada@example.org");
    bot.origin.bot = true;
    judge(&mut bot, &[]);
    assert!(!bot.wants_answer);
    assert_eq!(bot.automated.as_deref(), Some("bot"));
    let mut group = mail(&[], "ada@example.org");
    group.origin.group = true;
    judge(&mut group, &[]);
    assert!(!group.wants_answer);
    assert_eq!(group.automated, None, "a person in a group is no machine");
    assert!(group.opens_conversation());
    let mut person = mail(&[], "ada@example.org");
    judge(&mut person, &[]);
    assert!(person.wants_answer && person.automated.is_none());
}

#[test]
fn vacation_responders_that_do_not_say_so_are_recognised() {
    let own = ["support@example.com".to_string()];
    for (name, value) in [
        ("x-apple-action", "VACATION"),
        ("x-ms-exchange-inbox-rules-loop", "ada@example.org"),
        ("x-autogenerated", "Reply"),
        ("x-fc-machinegenerated", "true"),
        ("delivered-to", "Autoresponder"),
        ("x-mailer", "vacation 1.2"),
        ("x-loop", "ada@example.org"),
    ] {
        assert_eq!(
            check(&mail(&[(name, value)], "ada@example.org"), &own),
            Some(Reason::AutoResponder),
            "{name}: {value}"
        );
    }
    // Ordinary values of the same fields are no marker.
    assert_eq!(
        check(
            &mail(&[("delivered-to", "ada@example.org")], "ada@example.org"),
            &own
        ),
        None
    );
    let with_subject = |subject: &str| {
        let mut m = mail(&[], "ada@example.org");
        m.mail = Some(crate::conversation::MailMeta {
            subject: Some(subject.into()),
            ..Default::default()
        });
        check(&m, &own)
    };
    for subject in [
        "Automatic reply: Refund",
        "Out of Office: Refund",
        "Out of Office AutoReply: Refund",
        "Abwesenheitsnotiz: Refund",
        "Automatische Antwort: Refund",
        "Réponse automatique : Refund",
        "Respuesta automática: Refund",
        "AutoRespons : Refund",
        "Auto: Re: Refund",
        "Auto reply: Refund",
        "Автоматический ответ: Refund",
        "自動返信：Refund",
        "Out of office",
    ] {
        assert_eq!(
            with_subject(subject),
            Some(Reason::AutoResponder),
            "{subject}"
        );
    }
    for subject in [
        "Re: Automatic reply: Refund",
        "Automobile insurance",
        "Autumn sale",
        "Out of stock?",
        "Refund",
    ] {
        assert_eq!(with_subject(subject), None, "{subject}");
    }
    let mut icloud = mail(&[], "ada@example.org");
    icloud.mail = Some(crate::conversation::MailMeta {
        message_id: Some("6A5F1C2E-1111-2222-3333-444455556666-vac@icloud.com".into()),
        ..Default::default()
    });
    assert_eq!(check(&icloud, &own), Some(Reason::AutoResponder));
}

#[test]
fn the_address_the_reply_would_go_to_is_checked() {
    let own = ["support@example.com".to_string()];
    // From looks like a person, but the authenticated address is a machine's.
    for to in [
        "bounces+123@lists.example",
        "list-owner@lists.example",
        "noreply@shop.example",
        "support+em-1@example.com",
    ] {
        let mut m = mail(&[], "ada@example.org");
        m.endpoint.customer_id = to.into();
        assert!(check(&m, &own).is_some(), "{to}");
    }
    let mut unverified = mail(&[], "ada@example.org");
    unverified.unverified = true;
    assert_eq!(check(&unverified, &own), Some(Reason::Unverified));
    judge(&mut unverified, &own);
    assert!(!unverified.wants_answer && unverified.automated.is_none());
    assert!(unverified.opens_conversation(), "agents still see it");
}
