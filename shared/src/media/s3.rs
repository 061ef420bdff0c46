//! The S3 adapter of the media bucket: content-addressed objects, presigned
//! downloads (served with a safe type and disposition) and uploads (exact size and
//! type), and the deletion of a conversation's objects at erasure.

use crate::ports::{MediaStore, ObjectError, ObjectInfo, Serving, SignedUrl};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};

/// How long a download URL works.
pub const DOWNLOAD_URL_SECS: i64 = 600;
/// How long an upload URL works.
pub const UPLOAD_URL_SECS: i64 = 900;

#[derive(Clone)]
pub struct S3Media {
    client: Client,
    bucket: String,
    /// Where downloads are served (`MEDIA_DOWNLOAD_BASE`: the stack's CloudFront
    /// distribution, which adds `X-Content-Type-Options: nosniff` and the other
    /// security headers S3 cannot send); `None`: S3 itself.
    download_base: Option<String>,
}

impl S3Media {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Media {
            client,
            bucket: bucket.into(),
            download_base: None,
        }
    }

    /// Downloads through `base` (scheme and host, e.g. `https://d111.cloudfront.net`):
    /// the presigned URL's path and query on that host. The distribution forwards
    /// them to the bucket, which checks the signature as if asked directly.
    pub fn with_download_base(mut self, base: Option<String>) -> Self {
        self.download_base = base.map(|b| b.trim_end_matches('/').to_string());
        self
    }

    /// The adapter over the SDK configuration `main` loaded (`crate::sdk::load`).
    pub fn from_config(config: &crate::sdk::SdkConfig, bucket: impl Into<String>) -> Self {
        Self::new(Client::new(config), bucket)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn unavailable<E: std::error::Error + 'static>(&self, what: &str, e: E) -> ObjectError {
        let detail: String = DisplayErrorContext(&e)
            .to_string()
            .chars()
            .take(300)
            .collect();
        ObjectError::Unavailable(format!("media bucket {what}: {detail}"))
    }
}

fn presigning(now: DateTime<Utc>, secs: i64) -> Result<PresigningConfig, ObjectError> {
    PresigningConfig::builder()
        .start_time(now.into())
        .expires_in(std::time::Duration::from_secs(secs as u64))
        .build()
        .map_err(|e| ObjectError::Unavailable(format!("presigning: {e}")))
}

/// The path and query of a URL (what follows its host).
fn path_and_query(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
}

/// `attachment; filename="..."; filename*=UTF-8''...` (RFC 6266): an ASCII
/// fallback and the exact name.
pub fn content_disposition(filename: &str, inline: bool) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| !matches!(c, '"' | '\\'))
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encode(filename)
    )
}

/// `s` with every byte but letters, digits and ``!#$&+-.^_`|~`` as `%XX`.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The reverse of [`percent_encode`] (invalid escapes kept as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The metadata an upload's name travels in (`x-amz-meta-filename`).
const FILENAME_META: &str = "filename";

#[async_trait]
impl MediaStore for S3Media {
    async fn exists(&self, key: &str) -> Result<bool, ObjectError> {
        Ok(self.head(key).await?.is_some())
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, ObjectError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectInfo {
                size: out.content_length().unwrap_or(0).max(0) as u64,
                content_type: out.content_type().map(str::to_string),
                filename: out
                    .metadata()
                    .and_then(|m| m.get(FILENAME_META))
                    .map(|f| percent_decode(f)),
            })),
            Err(SdkError::ServiceError(se)) if se.raw().status().as_u16() == 404 => Ok(None),
            Err(e) => Err(self.unavailable("head", e)),
        }
    }

    async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), ObjectError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(bytes.to_vec().into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.unavailable("put", e))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| match &e {
                SdkError::ServiceError(se)
                    if se.err().code() == Some("NoSuchKey")
                        || se.raw().status().as_u16() == 404 =>
                {
                    ObjectError::Missing(format!("media object {key} not found"))
                }
                _ => self.unavailable("get", e),
            })?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| self.unavailable("read", e))?;
        Ok(bytes.into_bytes().to_vec())
    }

    async fn download_url(
        &self,
        key: &str,
        serving: &Serving<'_>,
        now: DateTime<Utc>,
    ) -> Result<SignedUrl, ObjectError> {
        let inline = serving.inline && super::inline_safe(serving.content_type);
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(if inline {
                serving.content_type.to_string()
            } else {
                super::served_type(Some(serving.content_type), None)
            })
            .response_content_disposition(content_disposition(serving.filename, inline))
            .response_cache_control("private, max-age=600")
            .presigned(presigning(now, DOWNLOAD_URL_SECS)?)
            .await
            .map_err(|e| self.unavailable("presign", e))?;
        let url = match &self.download_base {
            Some(base) => format!("{base}{}", path_and_query(req.uri())),
            None => req.uri().to_string(),
        };
        Ok(SignedUrl {
            url,
            expires_at: now + chrono::Duration::seconds(DOWNLOAD_URL_SECS),
            headers: Vec::new(),
        })
    }

    async fn upload_url(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        filename: &str,
        now: DateTime<Utc>,
    ) -> Result<SignedUrl, ObjectError> {
        let name = percent_encode(filename);
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size as i64)
            .metadata(FILENAME_META, &name)
            .presigned(presigning(now, UPLOAD_URL_SECS)?)
            .await
            .map_err(|e| self.unavailable("presign", e))?;
        Ok(SignedUrl {
            url: req.uri().to_string(),
            expires_at: now + chrono::Duration::seconds(UPLOAD_URL_SECS),
            headers: vec![
                ("Content-Type".into(), content_type.to_string()),
                (format!("x-amz-meta-{FILENAME_META}"), name),
            ],
        })
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, ObjectError> {
        let mut deleted = 0;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.unavailable("list", e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| self.unavailable("delete", e))?;
                deleted += 1;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(deleted),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_nothing_a_name_could_break_out_of() {
        assert_eq!(
            content_disposition("invoice.pdf", false),
            "attachment; filename=\"invoice.pdf\"; filename*=UTF-8''invoice.pdf"
        );
        let d = content_disposition("Rechnung März \"x\".pdf", true);
        assert!(
            d.starts_with("inline; filename=\"Rechnung M_rz x.pdf\""),
            "{d}"
        );
        assert!(
            d.ends_with("filename*=UTF-8''Rechnung%20M%C3%A4rz%20%22x%22.pdf"),
            "{d}"
        );
        assert_eq!(
            path_and_query("https://b.s3.eu-west-1.amazonaws.com/media/x?X-Amz-Signature=1"),
            "/media/x?X-Amz-Signature=1"
        );
        assert_eq!(path_and_query("http://127.0.0.1:5000/b/k?q"), "/b/k?q");
        for name in ["Rechnung März.pdf", "a%zz.pdf", "100%", "日本.txt"] {
            assert_eq!(percent_decode(&percent_encode(name)), name);
        }
    }
}
