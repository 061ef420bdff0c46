//! Media capture when things go wrong or run large: a platform that fails for now
//! (the retry queue, then `failed`), media the platform deleted, caps per file and
//! message, a type the bytes contradict, erasure, and every type of every
//! messaging channel.

use asyncdesk::conversation::{MediaKind, MediaState};
use asyncdesk::media::MediaLimits;
use asyncdesk_tests::kit;
use asyncdesk_tests::media_rig::*;
use asyncdesk_tests::tools;
use chrono::Utc;
use media_capture::Outcome;
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn a_platform_that_fails_is_tried_again_then_the_file_is_failed() {
    let rig = rig().await;
    rig.graph.add_media("777", &jpeg("flaky"), "image/jpeg");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550002",
            "wamid.flaky",
            "image",
            json!({"id": "777", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    let key = asyncdesk::ports::MessageKey::of(&rig.only_message().await);
    // With a retry queue: the attempt is counted and the message waits there.
    let queue = asyncdesk_tests::retry_queue::LocalQueue::create(
        tools::shared_endpoint(),
        &format!("media-{}", uuid::Uuid::new_v4().simple()),
    )
    .await
    .unwrap();
    let mut capture = rig_with(MediaLimits::default()).await.capture;
    capture.store = rig.table.store.clone();
    capture.sources = rig.capture.sources.clone();
    capture.retries = Some(Arc::new(queue.adapter(tools::shared_endpoint()).await));
    rig.graph
        .fail_next(500, json!({"error": {"message": "temporarily", "code": 2}}));
    let outcome = media_capture::capture_key(&key, &capture).await.unwrap();
    assert_eq!(outcome, Outcome::Retrying { delay_secs: 60 });
    assert_eq!(
        queue.counts().await.unwrap().0 + queue.counts().await.unwrap().1,
        1
    );
    let a = attachments(&rig.only_message().await)[0].clone();
    assert_eq!((a.state, a.attempts), (Some(MediaState::Pending), 1));
    // Without one, the stream retries the record; the last attempt gives up.
    for _ in 1..asyncdesk::media::capture::MAX_ATTEMPTS {
        rig.graph.fail_next(503, json!({}));
        let _ = media_capture::capture_key(&key, &rig.capture).await;
    }
    let a = attachments(&rig.only_message().await)[0].clone();
    assert_eq!(a.state, Some(MediaState::Failed), "{a:?}");
    assert!(
        a.reason
            .as_deref()
            .unwrap()
            .starts_with("gave up after 6 attempts"),
        "{a:?}"
    );

    // Meta deleted the media: failed at once, no retry.
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550002",
            "wamid.gone",
            "image",
            json!({"id": "888", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    rig.run_stream().await;
    let gone = rig
        .table
        .messages()
        .await
        .into_iter()
        .find(|m| m.id == "wamid.gone")
        .unwrap();
    let a = &attachments(&gone)[0];
    assert_eq!(a.state, Some(MediaState::Failed));
    assert_eq!(a.attempts, 0);
}

#[tokio::test]
async fn caps_and_types_are_checked_on_the_bytes() {
    let rig = rig_with(MediaLimits {
        max_file_bytes: 1000,
        max_message_bytes: 1000,
    })
    .await;
    // Over the cap: metadata only, nothing stored.
    rig.graph.add_media("901", &jpeg("big"), "image/jpeg");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550003",
            "wamid.big",
            "image",
            json!({"id": "901", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    // A "PDF" that is a PNG: stored, the mismatch recorded, served as what it is.
    rig.graph.add_media("902", &png()[..300], "application/pdf");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550003",
            "wamid.fake",
            "document",
            json!({"id": "902", "mime_type": "application/pdf", "filename": "invoice.pdf"}),
        ),
    )
    .await;
    // A Telegram file over what a bot may download: no request at all.
    let deps = kit::inbound(rig.table.store.clone());
    let huge = json!({"update_id": 3, "message": {"message_id": 3, "date": Utc::now().timestamp(),
        "chat": {"id": 42, "type": "private", "first_name": "Ada"}, "from": {"id": 42, "is_bot": false, "first_name": "Ada"},
        "document": {"file_id": "huge", "file_unique_id": "h", "file_name": "video.mov", "file_size": 30_000_000u64}}});
    kit::read(
        inbound_webhook::handle(
            &kit::telegram_post(&huge, Some(kit::TG_SECRET)),
            &deps,
            Utc::now(),
        )
        .await,
    );
    rig.run_stream().await;
    let all = rig.table.messages().await;
    let by_id = |id: &str| all.iter().find(|m| m.id.contains(id)).unwrap();
    let big = &attachments(by_id("wamid.big"))[0];
    assert_eq!(big.state, Some(MediaState::TooLarge), "{big:?}");
    assert!(big.key.is_none());
    let fake = &attachments(by_id("wamid.fake"))[0];
    assert_eq!(fake.state, Some(MediaState::Stored));
    assert!(fake.mime_mismatch);
    assert_eq!(fake.sniffed_mime_type.as_deref(), Some("image/png"));
    let tg = all
        .iter()
        .find(|m| m.endpoint.channel == asyncdesk::conversation::Channel::Telegram)
        .unwrap();
    assert_eq!(attachments(tg)[0].state, Some(MediaState::TooLarge));
    assert_eq!(rig.bot.requests(), 0);
    let thread = rig
        .thread(by_id("wamid.fake").conversation_id.as_str())
        .await;
    let shown = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "wamid.fake")
        .unwrap();
    let resp = reqwest::get(shown["attachments"][0]["url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["content-type"],
        "image/png",
        "served as what the bytes are"
    );
    let thread_big = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "wamid.big")
        .unwrap();
    assert!(
        thread_big["attachments"][0].get("url").is_none(),
        "nothing to download"
    );
}

#[tokio::test]
async fn erasing_a_conversation_deletes_its_files() {
    let rig = rig().await;
    rig.graph.add_media("321", &jpeg("erase"), "image/jpeg");
    post_whatsapp(
        &rig,
        &wa_media(
            "16505550004",
            "wamid.erase",
            "image",
            json!({"id": "321", "mime_type": "image/jpeg"}),
        ),
    )
    .await;
    rig.run_stream().await;
    let m = rig.only_message().await;
    let prefix = asyncdesk::media::conversation_prefix(&m.conversation_id);
    assert_eq!(rig.objects(&prefix).await.len(), 1);
    let mut agent = kit::agent(
        rig.table.store.clone(),
        asyncdesk::channels::Channels::default(),
    );
    agent.keys = asyncdesk::auth::AgentKeys::parse(&format!(
        "alice={}:admin",
        asyncdesk::auth::hash_key(kit::ALICE_KEY)
    ))
    .unwrap();
    agent.media = Some(Arc::new(rig.bucket.clone()));
    let req = kit::agent_request(
        "DELETE",
        &format!("/customers/{}/data", m.conversation_id),
        Some(kit::ALICE_KEY),
        None,
    );
    let (status, body) = kit::read(agent_reply::handle(&req, &agent, Utc::now()).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["erased"]["media_deleted"], 1);
    assert!(rig.objects(&prefix).await.is_empty());
}

#[tokio::test]
async fn every_type_of_every_messaging_channel_is_captured() {
    let rig = rig().await;
    let deps = kit::inbound(rig.table.store.clone());
    let mut expected: Vec<(String, Vec<u8>, MediaKind)> = Vec::new();
    // WhatsApp: image, video, audio, a voice note, document, sticker.
    for (i, (kind, mime, media_kind, extra)) in [
        ("image", "image/jpeg", MediaKind::Image, json!({})),
        ("video", "video/mp4", MediaKind::Video, json!({})),
        ("audio", "audio/mpeg", MediaKind::Audio, json!({})),
        (
            "audio",
            "audio/ogg; codecs=opus",
            MediaKind::Voice,
            json!({"voice": true}),
        ),
        (
            "document",
            "application/pdf",
            MediaKind::Document,
            json!({"filename": "a.pdf"}),
        ),
        ("sticker", "image/webp", MediaKind::Sticker, json!({})),
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = format!("whatsapp {kind} {i}").into_bytes();
        let id = format!("70{i}");
        rig.graph.add_media(&id, &bytes, mime);
        let mut media = json!({"id": id, "mime_type": mime, "sha256": b64_sha(&bytes)});
        media
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let wamid = format!("wamid.type{i}");
        post_whatsapp(&rig, &wa_media("16505550009", &wamid, kind, media)).await;
        expected.push((wamid, bytes, media_kind));
    }
    // Telegram: photo, document, voice, audio, video, video note, animation, sticker.
    for (i, (field, media_kind)) in [
        ("photo", MediaKind::Image),
        ("document", MediaKind::Document),
        ("voice", MediaKind::Voice),
        ("audio", MediaKind::Audio),
        ("video", MediaKind::Video),
        ("video_note", MediaKind::Video),
        ("animation", MediaKind::Animation),
        ("sticker", MediaKind::Sticker),
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = format!("telegram {field} {i}").into_bytes();
        let file_id = format!("tg-file-{i}");
        rig.bot
            .add_file(&file_id, &bytes, &format!("files/{i}.bin"));
        let file = json!({"file_id": file_id, "file_unique_id": format!("u{i}"), "file_size": bytes.len(), "duration": 3});
        let mut message = json!({"message_id": 100 + i, "date": Utc::now().timestamp(),
            "chat": {"id": 77, "type": "private", "first_name": "Ada"},
            "from": {"id": 77, "is_bot": false, "first_name": "Ada"}});
        message[field] = if field == "photo" {
            json!([file])
        } else {
            file
        };
        let update = json!({"update_id": 500 + i, "message": message});
        let (status, _) = kit::read(
            inbound_webhook::handle(
                &kit::telegram_post(&update, Some(kit::TG_SECRET)),
                &deps,
                Utc::now(),
            )
            .await,
        );
        assert_eq!(status, 200);
        expected.push((format!("{}", 100 + i), bytes, media_kind));
    }
    rig.run_stream().await;
    let all = rig.table.messages().await;
    for (id, bytes, kind) in &expected {
        let m = all
            .iter()
            .find(|m| m.id == *id || m.id.ends_with(&format!(":{id}")))
            .unwrap_or_else(|| {
                panic!(
                    "message {id} in {:?}",
                    all.iter().map(|m| &m.id).collect::<Vec<_>>()
                )
            });
        let a = &attachments(m)[0];
        assert_eq!(
            (a.media_kind, a.state),
            (*kind, Some(MediaState::Stored)),
            "{id}: {a:?}"
        );
        assert_eq!(
            a.sha256.as_deref(),
            Some(asyncdesk::media::sha256_hex(bytes).as_str()),
            "{id}"
        );
        assert_eq!(
            &rig.object(a.key.as_deref().unwrap()).await,
            bytes,
            "{id}: the bytes"
        );
    }
}
