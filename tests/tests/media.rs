//! Media capture against real parts: the webhook stores a media message with its
//! attachments `pending` and makes no download; the capture function, fed by the
//! table's stream (the template's filter), copies each file from the Graph API or
//! Bot API stand-in, or from the mail, into the media bucket on moto's S3, and the
//! thread answer gives each stored file a presigned URL that downloads the same
//! bytes. Failures, caps, type mismatches, virus verdicts and erasure included.

use asyncdesk::channels::MediaSources;
use asyncdesk::channels::email::media::EmailMedia;
use asyncdesk::conversation::{MediaKind, MediaState};
use asyncdesk::media::MediaLimits;
use asyncdesk_tests::kit;
use asyncdesk_tests::media_rig::*;
use asyncdesk_tests::{mail, tools};
use chrono::Utc;
use media_capture::{MediaCapture, Outcome};
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn a_whatsapp_photo_is_copied_off_the_webhook_path_and_opened_by_the_agent() {
    let rig = rig().await;
    let photo = jpeg("wa");
    rig.graph
        .add_media("1003383421387256", &photo, "image/jpeg");
    let body = wa_media(
        "16505551234",
        "wamid.photo1",
        "image",
        json!({"caption": "the broken part", "mime_type": "image/jpeg", "sha256": b64_sha(&photo), "id": "1003383421387256"}),
    );
    let receipt = post_whatsapp(&rig, &body).await;
    assert_eq!(receipt["stored"], 1);
    // The webhook stored the message and fetched nothing.
    assert_eq!(rig.graph.requests(), 0);
    let pending = rig.only_message().await;
    assert_eq!(attachments(&pending)[0].state, Some(MediaState::Pending));

    rig.run_stream().await;
    let m = rig.only_message().await;
    let a = &attachments(&m)[0];
    assert_eq!(a.state, Some(MediaState::Stored), "{a:?}");
    assert_eq!(a.size, Some(photo.len() as u64));
    assert_eq!(
        a.sha256.as_deref(),
        Some(asyncdesk::media::sha256_hex(&photo).as_str())
    );
    assert_eq!(a.sniffed_mime_type.as_deref(), Some("image/jpeg"));
    assert!(!a.mime_mismatch);
    assert_eq!(a.filename.as_deref(), Some("image.jpg"));
    let key = a.key.clone().unwrap();
    assert!(
        key.starts_with(&format!("media/{}/", m.conversation_id)),
        "{key}"
    );
    assert_eq!(rig.object(&key).await, photo, "the bytes, exactly");
    // Both calls carried the access token.
    assert!(
        rig.graph
            .authorizations()
            .iter()
            .all(|a| a == &format!("Bearer {TOKEN}"))
    );

    // The agent opens it: a short-lived URL that downloads the same bytes, as an
    // attachment with the safe name, and an inline preview for the image.
    let thread = rig.thread(m.conversation_id.as_str()).await;
    let shown = &thread["messages"][0]["attachments"][0];
    let url = shown["url"].as_str().expect("a download URL");
    assert!(shown["url_expires_at"].is_string());
    let http = reqwest::Client::new();
    let resp = http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"image.jpg\""),
        "{disposition}"
    );
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), photo);
    let preview = http
        .get(shown["preview_url"].as_str().expect("a preview URL"))
        .send()
        .await
        .unwrap();
    assert!(
        preview.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
}

#[tokio::test]
async fn a_redelivered_webhook_and_a_redelivered_record_store_the_file_once() {
    let rig = rig().await;
    let photo = jpeg("twice");
    rig.graph.add_media("555", &photo, "image/jpeg");
    let body = wa_media(
        "16505550001",
        "wamid.twice",
        "image",
        json!({"mime_type": "image/jpeg", "id": "555"}),
    );
    post_whatsapp(&rig, &body).await;
    let again = post_whatsapp(&rig, &body).await;
    assert_eq!(again["duplicates"], 1);
    rig.run_stream().await;
    let calls = rig.graph.requests();
    assert_eq!(calls, 2, "GET /{{id}} and the download, once");
    // Lambda delivers the same record again: the message is read again, found
    // stored, and nothing is fetched or written.
    rig.run_stream().await;
    assert_eq!(rig.graph.requests(), calls);
    let m = rig.only_message().await;
    assert_eq!(
        rig.objects(&format!("media/{}/", m.conversation_id))
            .await
            .len(),
        1
    );

    // The same photo in another message of the conversation: one object still.
    rig.graph.add_media("556", &photo, "image/jpeg");
    let body = wa_media(
        "16505550001",
        "wamid.twice2",
        "image",
        json!({"mime_type": "image/jpeg", "id": "556"}),
    );
    post_whatsapp(&rig, &body).await;
    rig.run_stream().await;
    let all = rig.table.messages().await;
    assert!(
        all.iter()
            .all(|m| attachments(m)[0].state == Some(MediaState::Stored))
    );
    assert_eq!(attachments(&all[0])[0].key, attachments(&all[1])[0].key);
    assert_eq!(
        rig.objects(&format!("media/{}/", m.conversation_id))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn telegram_photos_keep_the_largest_size_and_voice_notes_their_duration() {
    let rig = rig().await;
    let big = jpeg("big");
    rig.bot
        .add_file("small-id", &jpeg("small")[..100], "photos/file_0.jpg");
    rig.bot.add_file("big-id", &big, "photos/file_1.jpg");
    let voice = ogg();
    rig.bot.add_file("voice-id", &voice, "voice/file_2.oga");
    let deps = kit::inbound(rig.table.store.clone());
    let chat = 408_258_968;
    let photo = json!({"update_id": 1, "message": {"message_id": 1, "date": Utc::now().timestamp(),
        "chat": {"id": chat, "type": "private", "first_name": "Ada"},
        "from": {"id": chat, "is_bot": false, "first_name": "Ada"},
        "caption": "it broke",
        "photo": [{"file_id": "small-id", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 100},
                  {"file_id": "big-id", "file_unique_id": "b", "width": 1280, "height": 960, "file_size": big.len()}]}});
    let note = json!({"update_id": 2, "message": {"message_id": 2, "date": Utc::now().timestamp(),
        "chat": {"id": chat, "type": "private", "first_name": "Ada"},
        "from": {"id": chat, "is_bot": false, "first_name": "Ada"},
        "voice": {"file_id": "voice-id", "file_unique_id": "v", "duration": 7, "mime_type": "audio/ogg", "file_size": voice.len()}}});
    for update in [&photo, &note] {
        let (status, _) = kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(update, Some(kit::TG_SECRET)),
                &deps,
                Utc::now(),
            )
            .await,
        );
        assert_eq!(status, 200);
    }
    rig.run_stream().await;
    let all = rig.table.messages().await;
    assert_eq!(all.len(), 2);
    let p = &attachments(&all[0])[0];
    assert_eq!(
        (p.media_kind, p.state),
        (MediaKind::Image, Some(MediaState::Stored))
    );
    assert_eq!(p.unique_id.as_deref(), Some("b"));
    assert_eq!(
        rig.object(p.key.as_deref().unwrap()).await,
        big,
        "the largest size"
    );
    let v = &attachments(&all[1])[0];
    assert_eq!(
        (v.media_kind, v.state),
        (MediaKind::Voice, Some(MediaState::Stored))
    );
    assert_eq!(v.duration_secs, Some(7));
    assert_eq!(v.sniffed_mime_type.as_deref(), Some("audio/ogg"));
    assert_eq!(rig.object(v.key.as_deref().unwrap()).await, voice);
    // The bot token went only into request paths: never into the table.
    assert!(rig.bot.tokens().iter().all(|t| t == kit::TG_TOKEN));
    let stored = format!("{:?}", rig.table.items().await);
    assert!(
        !stored.contains("test-bot-token"),
        "the token is stored nowhere"
    );
}

#[tokio::test]
async fn email_attachments_come_from_the_mail_and_a_virus_verdict_blocks_them() {
    let rig = rig().await;
    let email = asyncdesk_tests::email_rig::rig().await;
    // The capture over the email rig's table.
    let capture = MediaCapture {
        store: email.table.store.clone(),
        sources: MediaSources::new(vec![Arc::new(EmailMedia::new(Arc::new(
            mail::s3_objects(tools::shared_endpoint()).await,
        )))]),
        bucket: Arc::new(rig.bucket.clone()),
        limits: MediaLimits::default(),
        retries: None,
    };
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let from = asyncdesk_tests::email_rig::customer("media");
    let mime = |id: &str| {
        format!(
            "From: Ada <{from}>\r\nTo: {}\r\nSubject: Invoice\r\nMessage-ID: <{id}@example.org>\r\nDate: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nInvoice attached.\r\n--b1\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\nContent-Disposition: attachment; filename=\"../invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            mail::SUPPORT_ADDRESS,
            Utc::now().to_rfc2822(),
            b64(PDF),
            b64(&png()),
        )
        .into_bytes()
    };
    email
        .receive(&mime("clean"), mail::Encoding::Base64, "sns-clean")
        .await;
    let event = email.table.stream_event_of("MediaCaptureFunction").await;
    media_capture::handle_event(serde_json::to_value(event).unwrap(), &capture)
        .await
        .unwrap();
    let m = &email.messages().await[0];
    let a = attachments(m);
    assert_eq!(a.len(), 2);
    assert!(
        a.iter().all(|a| a.state == Some(MediaState::Stored)),
        "{a:?}"
    );
    assert_eq!(a[0].filename.as_deref(), Some("invoice.pdf"));
    assert_eq!(rig.object(a[0].key.as_deref().unwrap()).await, PDF);
    assert!(a[1].inline);
    assert_eq!(rig.object(a[1].key.as_deref().unwrap()).await, png());

    // SES found a virus: listed, never fetched, never offered.
    let n = mail::received_notification(&mime("virus"), mail::Encoding::Base64, "ses-virus");
    let mut n = n;
    n["receipt"]["virusVerdict"]["status"] = json!("FAIL");
    inbound_email::handle_event(
        mail::sns_event(&[("sns-virus", &n)]),
        &email.inbound,
        Utc::now(),
    )
    .await
    .unwrap();
    let virus = email
        .messages()
        .await
        .into_iter()
        .find(|m| m.provider_message_id.as_deref() == Some("virus@example.org"))
        .expect("the mail is kept");
    assert!(
        attachments(&virus)
            .iter()
            .all(|a| a.state == Some(MediaState::Blocked))
    );
    let capture_of_virus = media_capture::capture_message(&virus, &capture)
        .await
        .unwrap();
    assert_eq!(capture_of_virus, Outcome::Skipped("no pending attachment"));
}
