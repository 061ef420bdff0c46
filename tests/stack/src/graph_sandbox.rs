//! A stand-in for the WhatsApp Cloud API (Graph API): message sends checked the way
//! the Graph API checks them, media uploads (multipart), and customers' media
//! served by id and URL, with the access token required.

use crate::sandbox::{
    ChannelApi, FormField, OutboxEntry, OutboxFile, Recorded, Sandbox, form_fields,
};
use crate::server::{self, Request, Response};
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::VecDeque;

/// The WhatsApp Cloud API's send endpoint (`POST /{phone_number_id}/messages`),
/// checking requests the way the Graph API does.
pub type GraphSandbox = Sandbox<GraphApi>;

#[derive(Default)]
pub struct GraphApi {
    next_ids: VecDeque<String>,
    authorizations: Vec<String>,
    /// Customers' media by media id: bytes and type.
    media: std::collections::HashMap<String, (Vec<u8>, String)>,
    /// Our uploads (`POST /{phone_number_id}/media`) by media id.
    uploads: std::collections::HashMap<String, FormField>,
    base: String,
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    server::json_response(
        status,
        &json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "sandbox"}}),
    )
}

impl Sandbox<GraphApi> {
    /// Every Authorization header received.
    pub fn authorizations(&self) -> Vec<String> {
        self.with_api(|g| g.authorizations.clone())
    }

    /// The next accepted send gets `id` instead of a fresh one (e.g. an id a status
    /// callback already used).
    pub fn next_message_id(&self, id: &str) {
        self.with_api(|g| g.next_ids.push_back(id.to_string()));
    }

    /// A customer's media, served under `id` (`GET /{id}`, then its URL).
    pub fn add_media(&self, id: &str, bytes: &[u8], mime_type: &str) {
        self.with_api(|g| {
            g.media
                .insert(id.to_string(), (bytes.to_vec(), mime_type.to_string()))
        });
    }

    /// Meta deleted the media: `GET /{id}` answers as for an unknown id.
    pub fn forget_media(&self, id: &str) {
        self.with_api(|g| g.media.remove(id));
    }
}

impl GraphApi {
    /// `GET /{media-id}` (the URL, type, size and Base64 SHA-256 of a customer's
    /// media) and `GET /media-download/{id}` (the bytes), both with the token.
    fn media(
        &mut self,
        recorded: &mut Recorded,
        segments: &[&str],
        req: &Request,
    ) -> Option<Response> {
        let id = match segments {
            [id] if req.method() == http::Method::GET => *id,
            ["media-download", id] if req.method() == http::Method::GET => *id,
            _ => return None,
        };
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !auth.starts_with("Bearer ") || auth.len() <= "Bearer ".len() {
            return Some(graph_error(401, 190, "Invalid OAuth access token"));
        }
        if let Some((status, body)) = recorded.failures.pop_front()
            && status != 0
        {
            return Some(server::json_response(status, &body));
        }
        let Some((bytes, mime)) = self.media.get(id) else {
            return Some(if segments.len() == 1 {
                graph_error(
                    400,
                    100,
                    "Unsupported get request. Object with ID does not exist",
                )
            } else {
                server::json_response(404, &json!({"message": "Not Found"}))
            });
        };
        if segments.len() == 2 {
            return Some(
                http::Response::builder()
                    .status(200)
                    .header("content-type", mime.as_str())
                    .body(hyper::body::Bytes::from(bytes.clone()))
                    .expect("a valid response"),
            );
        }
        use base64::Engine;
        use sha2::Digest;
        let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes));
        Some(server::json_response(
            200,
            &json!({"messaging_product": "whatsapp", "url": format!("{}/media-download/{id}", self.base),
                "mime_type": mime, "sha256": sha, "file_size": bytes.len().to_string(), "id": id}),
        ))
    }
}

impl ChannelApi for GraphApi {
    fn set_base(&mut self, base: &str) {
        self.base = base.trim_end_matches('/').to_string();
    }

    fn handle(&mut self, recorded: &mut Recorded, path: &str, req: &Request) -> Response {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        if let Some(resp) = self.media(recorded, &segments, req) {
            return resp;
        }
        if let [_, "media"] = segments.as_slice()
            && req.method() == http::Method::POST
        {
            return self.upload(recorded, req);
        }
        let [phone_number_id, "messages"] = segments.as_slice() else {
            return graph_error(400, 100, "Unsupported request: unknown path");
        };
        if req.method() != http::Method::POST {
            return graph_error(400, 100, "Unsupported request: method");
        }
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        if !auth.starts_with("Bearer ") || auth.len() <= "Bearer ".len() {
            return graph_error(401, 190, "Invalid OAuth access token");
        }
        self.authorizations.push(auth);
        if let Some((status, body)) = recorded.failures.pop_front()
            && status != 0
        {
            return server::json_response(status, &body);
        }
        let Ok(body) = serde_json::from_slice::<Value>(req.body()) else {
            return graph_error(400, 100, "Invalid JSON body");
        };
        // A text, or a template (shown as "template <name> (<language>): <params>").
        let template_text = (body["type"] == "template")
            .then(|| {
                let t = &body["template"];
                let params: Vec<&str> = t["components"][0]["parameters"]
                    .as_array()
                    .map(|ps| ps.iter().filter_map(|p| p["text"].as_str()).collect())
                    .unwrap_or_default();
                Some(format!(
                    "template {} ({}): {}",
                    t["name"].as_str()?,
                    t["language"]["code"].as_str()?,
                    params.join(" | ")
                ))
            })
            .flatten();
        // A file we uploaded, by its id, with its caption.
        let kind = body["type"].as_str().unwrap_or_default().to_string();
        let mut attachments = Vec::new();
        let mut caption = None;
        if ["image", "video", "audio", "document"].contains(&kind.as_str()) {
            let Some(file) = body[&kind]["id"]
                .as_str()
                .and_then(|id| self.uploads.get(id))
            else {
                return graph_error(400, 131053, "Media upload error: unknown media id");
            };
            if kind == "audio" && body[&kind].get("caption").is_some() {
                return graph_error(400, 100, "(#100) audio takes no caption");
            }
            let filename = body[&kind]["filename"]
                .as_str()
                .map(str::to_string)
                .or(file.filename.clone());
            attachments.push(OutboxFile::of(
                &kind,
                filename,
                file.content_type.clone(),
                &file.bytes,
            ));
            caption = Some(body[&kind]["caption"].as_str().unwrap_or_default());
        }
        let (Some("whatsapp"), Some(to), Some(text)) = (
            body["messaging_product"].as_str(),
            body["to"].as_str(),
            template_text
                .as_deref()
                .or(caption)
                .or(if body["type"] == "text" {
                    body["text"]["body"].as_str()
                } else {
                    None
                }),
        ) else {
            return graph_error(400, 100, "(#100) Invalid parameter");
        };
        let id = self
            .next_ids
            .pop_front()
            .unwrap_or_else(|| format!("wamid.sandbox.{}", uuid::Uuid::new_v4().simple()));
        recorded.sent.push(OutboxEntry {
            id: id.clone(),
            channel: "whatsapp",
            business_id: phone_number_id.to_string(),
            to: to.to_string(),
            text: text.to_string(),
            reply_to: None,
            at: Utc::now(),
            headers: None,
            attachments,
        });
        server::json_response(
            200,
            &json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]}),
        )
    }
}

impl GraphApi {
    /// `POST /{phone_number_id}/media` (multipart: `messaging_product`, `type`,
    /// `file`): the media id to send it by.
    fn upload(&mut self, recorded: &mut Recorded, req: &Request) -> Response {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !auth.starts_with("Bearer ") {
            return graph_error(401, 190, "Invalid OAuth access token");
        }
        if let Some((status, body)) = recorded.failures.pop_front()
            && status != 0
        {
            return server::json_response(status, &body);
        }
        let Some(fields) = form_fields(req) else {
            return graph_error(400, 100, "(#100) the upload must be multipart/form-data");
        };
        let field = |n: &str| fields.iter().find(|f| f.name == n);
        let (Some(product), Some(_), Some(file)) =
            (field("messaging_product"), field("type"), field("file"))
        else {
            return graph_error(
                400,
                100,
                "(#100) messaging_product, type and file are required",
            );
        };
        if product.text() != "whatsapp" || file.bytes.is_empty() {
            return graph_error(400, 100, "(#100) Invalid parameter");
        }
        let id = format!("{}", 9_000_000_000u64 + self.uploads.len() as u64);
        self.uploads.insert(id.clone(), file.clone());
        server::json_response(200, &json!({ "id": id }))
    }
}
