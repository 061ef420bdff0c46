//! A stand-in for the Telegram Bot API (`POST /bot<token>/sendMessage`). It checks requests the way the Bot API does
//! (token shape, text length 1-4096, reply_parameters), records what was sent, and
//! can play a blocked user, a group that moved to a supergroup, or the next answers.

use crate::sandbox::{ChannelApi, OutboxEntry, Recorded, Sandbox};
use crate::server::{self, Request, Response};
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// The Telegram Bot API as the sandbox plays it.
pub type BotSandbox = Sandbox<BotApi>;

#[derive(Default)]
pub struct BotApi {
    blocked: HashSet<i64>,
    migrated: HashMap<i64, i64>,
    next_id: HashMap<i64, i64>,
    tokens: Vec<String>,
    /// Customers' files by file_id: bytes and file_path.
    files: HashMap<String, (Vec<u8>, String)>,
    /// Files we sent, by the file_id given back.
    sent_files: HashMap<String, crate::sandbox::FormField>,
    /// Files received by multipart upload.
    uploads: usize,
}

fn error(code: u16, description: &str) -> Response {
    server::json_response(
        code,
        &json!({"ok": false, "error_code": code, "description": description}),
    )
}

impl Sandbox<BotApi> {
    /// Bot tokens seen in request paths.
    pub fn tokens(&self) -> Vec<String> {
        self.with_api(|b| b.tokens.clone())
    }

    /// Sends to `chat` answer 403 "bot was blocked by the user".
    pub fn block(&self, chat: i64) {
        self.with_api(|b| b.blocked.insert(chat));
    }

    /// Sends to `group` answer 400 with `migrate_to_chat_id: supergroup`.
    pub fn migrate(&self, group: i64, supergroup: i64) {
        self.with_api(|b| b.migrated.insert(group, supergroup));
    }

    /// Files received by multipart upload (a file sent by its file_id is not one).
    pub fn uploads(&self) -> usize {
        self.with_api(|b| b.uploads)
    }

    /// A customer's file, served by `getFile` and `/file/bot<token>/<file_path>`.
    pub fn add_file(&self, file_id: &str, bytes: &[u8], file_path: &str) {
        self.with_api(|b| {
            b.files
                .insert(file_id.to_string(), (bytes.to_vec(), file_path.to_string()))
        });
    }
}

impl BotApi {
    /// `GET /file/bot<token>/<file_path>`: a file's bytes.
    fn download(&mut self, recorded: &mut Recorded, token: &str, file_path: &str) -> Response {
        self.tokens.push(token.to_string());
        if let Some((status, body)) = recorded.failures.pop_front()
            && status != 0
        {
            return server::json_response(status, &body);
        }
        match self.files.values().find(|(_, p)| p == file_path) {
            Some((bytes, _)) => http::Response::builder()
                .status(200)
                .header("content-type", "application/octet-stream")
                .body(hyper::body::Bytes::from(bytes.clone()))
                .expect("a valid response"),
            None => error(404, "Not Found"),
        }
    }
}

impl ChannelApi for BotApi {
    fn handle(&mut self, recorded: &mut Recorded, path: &str, req: &Request) -> Response {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        if let ["file", bot, rest @ ..] = segments.as_slice()
            && let Some(token) = bot.strip_prefix("bot")
        {
            let token = token.to_string();
            return self.download(recorded, &token, &rest.join("/"));
        }
        let [bot, method] = segments.as_slice() else {
            return error(404, "Not Found");
        };
        let token = bot.strip_prefix("bot").unwrap_or_default();
        let valid = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty()
        });
        if !valid {
            return error(404, "Not Found");
        }
        self.tokens.push(token.to_string());
        let bot_id = token.split(':').next().unwrap_or_default().to_string();
        if let Some((status, body)) = recorded.failures.pop_front()
            && status != 0
        {
            return server::json_response(status, &body);
        }
        if let Some(limit) = &mut recorded.limit
            && !limit.admit()
        {
            let secs = limit.retry_after;
            return server::json_response(
                429,
                &json!({"ok": false, "error_code": 429,
                    "description": format!("Too Many Requests: retry after {secs}"),
                    "parameters": {"retry_after": secs}}),
            );
        }
        if let Some(fields) = crate::sandbox::form_fields(req) {
            return self.send_file(recorded, method, &bot_id, &fields);
        }
        let Ok(body) = serde_json::from_slice::<Value>(req.body()) else {
            return error(400, "Bad Request: invalid JSON");
        };
        if let Some(field) = file_field(method)
            && let Some(file_id) = body[field].as_str()
        {
            // A file sent again by its id: one we sent, or a customer's.
            let known = self.sent_files.get(file_id).cloned().or_else(|| {
                self.files
                    .get(file_id)
                    .map(|(bytes, _)| crate::sandbox::FormField {
                        name: field.to_string(),
                        filename: None,
                        content_type: None,
                        bytes: bytes.clone(),
                    })
            });
            let Some(file) = known else {
                return error(400, "Bad Request: wrong file identifier/HTTP URL specified");
            };
            let Some(chat) = body["chat_id"].as_i64() else {
                return error(400, "Bad Request: chat not found");
            };
            let caption = body["caption"].as_str().unwrap_or_default().to_string();
            let reply_to = body["reply_parameters"]["message_id"].as_i64();
            return self.record_file(recorded, method, &bot_id, chat, caption, reply_to, file);
        }
        match *method {
            "getFile" => {
                let id = body["file_id"].as_str().unwrap_or_default();
                match self.files.get(id) {
                    Some((bytes, file_path)) => server::json_response(
                        200,
                        &json!({"ok": true, "result": {"file_id": id, "file_unique_id": format!("u-{id}"),
                            "file_size": bytes.len(), "file_path": file_path}}),
                    ),
                    None => error(
                        400,
                        "Bad Request: wrong file_id or the file is temporarily unavailable",
                    ),
                }
            }
            "sendMessage" => {
                let Some(chat) = body["chat_id"].as_i64() else {
                    return error(400, "Bad Request: chat not found");
                };
                if let Some(to) = self.migrated.get(&chat) {
                    return server::json_response(
                        400,
                        &json!({"ok": false, "error_code": 400,
                            "description": "Bad Request: group chat was upgraded to a supergroup chat",
                            "parameters": {"migrate_to_chat_id": to}}),
                    );
                }
                if self.blocked.contains(&chat) {
                    return error(403, "Forbidden: bot was blocked by the user");
                }
                let text = body["text"].as_str().unwrap_or_default();
                if text.trim().is_empty() {
                    return error(400, "Bad Request: message text is empty");
                }
                if text.chars().count() > 4096 {
                    return error(400, "Bad Request: message is too long");
                }
                let reply_to = body["reply_parameters"]["message_id"].as_i64();
                if reply_to.is_some()
                    && body["reply_parameters"]["allow_sending_without_reply"] != json!(true)
                {
                    return error(400, "Bad Request: message to be replied not found");
                }
                let next = self.next_id.entry(chat).or_insert(1000);
                *next += 1;
                let id = *next;
                recorded.sent.push(OutboxEntry {
                    id: id.to_string(),
                    channel: "telegram",
                    business_id: bot_id,
                    to: chat.to_string(),
                    text: text.to_string(),
                    reply_to: reply_to.map(|r| r.to_string()),
                    at: Utc::now(),
                    headers: None,
                    attachments: Vec::new(),
                });
                server::json_response(
                    200,
                    &json!({"ok": true, "result": {"message_id": id, "date": Utc::now().timestamp(),
                        "chat": {"id": chat, "type": if chat < 0 { "supergroup" } else { "private" }},
                        "text": text}}),
                )
            }
            _ => error(404, "Not Found: method not found"),
        }
    }
}

impl BotApi {
    /// `sendPhoto`, `sendDocument`, `sendVoice`, `sendAudio`, `sendVideo`,
    /// `sendAnimation` as multipart: the file in the method's field, `chat_id`,
    /// `caption` (at most 1024 characters), `reply_parameters` (JSON).
    fn send_file(
        &mut self,
        recorded: &mut Recorded,
        method: &str,
        bot_id: &str,
        fields: &[crate::sandbox::FormField],
    ) -> Response {
        let Some(field) = file_field(method) else {
            return error(404, "Not Found: method not found");
        };
        let max = if field == "photo" { 10 << 20 } else { 50 << 20 };
        let get = |n: &str| fields.iter().find(|f| f.name == n);
        let Some(chat) = get("chat_id").and_then(|f| f.text().parse::<i64>().ok()) else {
            return error(400, "Bad Request: chat not found");
        };
        let Some(file) = get(field).filter(|f| !f.bytes.is_empty()) else {
            return error(
                400,
                &format!("Bad Request: there is no {field} in the request"),
            );
        };
        if file.bytes.len() > max {
            return error(413, "Request Entity Too Large");
        }
        let caption = get("caption").map(|c| c.text()).unwrap_or_default();
        let reply_to = get("reply_parameters")
            .and_then(|r| serde_json::from_str::<Value>(&r.text()).ok())
            .and_then(|r| r["message_id"].as_i64());
        self.uploads += 1;
        let file = file.clone();
        self.record_file(recorded, method, bot_id, chat, caption, reply_to, file)
    }

    /// Records a file sent to `chat` and answers as the Bot API does.
    #[allow(clippy::too_many_arguments)]
    fn record_file(
        &mut self,
        recorded: &mut Recorded,
        method: &str,
        bot_id: &str,
        chat: i64,
        caption: String,
        reply_to: Option<i64>,
        file: crate::sandbox::FormField,
    ) -> Response {
        let field = file_field(method).unwrap_or("document");
        if self.blocked.contains(&chat) {
            return error(403, "Forbidden: bot was blocked by the user");
        }
        if caption.chars().count() > 1024 {
            return error(400, "Bad Request: message caption is too long");
        }
        let next = self.next_id.entry(chat).or_insert(1000);
        *next += 1;
        let id = *next;
        recorded.sent.push(OutboxEntry {
            id: id.to_string(),
            channel: "telegram",
            business_id: bot_id.to_string(),
            to: chat.to_string(),
            text: caption.clone(),
            reply_to: reply_to.map(|r| r.to_string()),
            at: Utc::now(),
            headers: None,
            attachments: vec![crate::sandbox::OutboxFile::of(
                method,
                file.filename.clone(),
                file.content_type.clone(),
                &file.bytes,
            )],
        });
        let file_id = format!("sent-{chat}-{id}");
        self.sent_files.insert(file_id.clone(), file);
        let mut result = json!({"message_id": id, "date": Utc::now().timestamp(),
            "chat": {"id": chat, "type": "private"}, "caption": caption});
        result[field] = if field == "photo" {
            json!([{"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}])
        } else {
            json!({"file_id": file_id, "file_unique_id": file_id})
        };
        server::json_response(200, &json!({"ok": true, "result": result}))
    }
}

/// The file field of a Bot API send method.
fn file_field(method: &str) -> Option<&'static str> {
    Some(match method {
        "sendPhoto" => "photo",
        "sendDocument" => "document",
        "sendVoice" => "voice",
        "sendAudio" => "audio",
        "sendVideo" => "video",
        "sendAnimation" => "animation",
        _ => return None,
    })
}
