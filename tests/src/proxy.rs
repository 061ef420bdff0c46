//! A pass-through HTTP proxy in front of the DynamoDB-API server that records the
//! operation of every request (X-Amz-Target), so tests count real requests, and the
//! IAM actions each request needs, so tests check the template's policies.

use crate::server::{self, Request, Response};
use hyper::body::Bytes;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct CountingProxy {
    pub endpoint: String,
    operations: Arc<Mutex<Vec<String>>>,
    actions: Arc<Mutex<std::collections::BTreeSet<String>>>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> (Self, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let operations = Arc::new(Mutex::new(Vec::new()));
        let actions = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
        let client = reqwest::Client::new();
        let upstream = upstream.trim_end_matches('/').to_string();
        let (ops, acts) = (operations.clone(), actions.clone());
        let task = server::serve(listener, move |req: Request| {
            let (client, upstream) = (client.clone(), upstream.clone());
            let (ops, acts) = (ops.clone(), acts.clone());
            async move {
                acts.lock().unwrap().extend(iam_actions(&req));
                forward(&client, &upstream, &ops, req).await
            }
        });
        (
            CountingProxy {
                endpoint,
                operations,
                actions,
            },
            task,
        )
    }

    /// The IAM actions the requests so far needed, e.g. "dynamodb:PutItem"; a
    /// TransactWriteItems needs the action of each of its items.
    pub fn iam_actions(&self) -> std::collections::BTreeSet<String> {
        self.actions.lock().unwrap().clone()
    }

    /// Operations seen so far, e.g. "DynamoDB_20120810.TransactWriteItems".
    pub fn operations(&self) -> Vec<String> {
        self.operations.lock().unwrap().clone()
    }

    pub fn reset(&self) {
        self.operations.lock().unwrap().clear();
    }
}

fn iam_actions(req: &Request) -> Vec<String> {
    let operation = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once('.'))
        .map(|(_, op)| op.to_string())
        .unwrap_or_default();
    if operation != "TransactWriteItems" {
        return vec![format!("dynamodb:{operation}")];
    }
    let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap_or_default();
    body["TransactItems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_object()?.keys().next().cloned())
        .map(|kind| match kind.as_str() {
            "ConditionCheck" => "dynamodb:ConditionCheckItem".to_string(),
            other => format!("dynamodb:{other}Item"),
        })
        .collect()
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    ops: &Mutex<Vec<String>>,
    req: Request,
) -> Response {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_string();
    ops.lock().unwrap().push(target);
    let url = format!(
        "{upstream}{}",
        req.uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut out = client.request(req.method().clone(), url);
    for (name, value) in req.headers() {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            out = out.header(name, value);
        }
    }
    match out.body(req.into_body()).send().await {
        Ok(resp) => {
            let mut builder = http::Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING {
                    builder = builder.header(name, value);
                }
            }
            builder
                .body(resp.bytes().await.unwrap_or_default())
                .expect("valid response")
        }
        Err(e) => http::Response::builder()
            .status(502)
            .body(Bytes::from(e.to_string()))
            .unwrap(),
    }
}
