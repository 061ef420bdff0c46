//! A pass-through HTTP proxy in front of the DynamoDB-API server that records the
//! operation of every request (X-Amz-Target), so tests count real requests, and the
//! IAM actions each request needs, so tests check the template's policies.

use crate::capacity::{Capacity, Totals};
use crate::charging::Charging;
use crate::server::{self, Request, Response};
use hyper::body::Bytes;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct CountingProxy {
    pub endpoint: String,
    operations: Arc<Mutex<Vec<String>>>,
    actions: Arc<Mutex<std::collections::BTreeSet<String>>>,
    /// Answers to give instead of forwarding: (operation, HTTP status, JSON body).
    failures: Arc<Mutex<std::collections::VecDeque<(String, u16, serde_json::Value)>>>,
    /// DynamoDB's capacity rules, when charged (`start_charging`).
    charging: Option<Arc<Charging>>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> (Self, tokio::task::JoinHandle<()>) {
        Self::start_with(upstream, None).await
    }

    /// A proxy that charges DynamoDB's capacity rules and throttles as DynamoDB
    /// does when a partition's budget is spent (`capacity`).
    pub async fn start_charging(
        upstream: &str,
        capacity: Capacity,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let charging = Arc::new(Charging {
            capacity: Mutex::new(capacity),
        });
        Self::start_with(upstream, Some(charging)).await
    }

    /// What was charged so far (a charging proxy).
    pub fn totals(&self) -> Totals {
        self.charging
            .as_ref()
            .map(|c| c.capacity.lock().unwrap().totals.clone())
            .unwrap_or_default()
    }

    /// Clears the charged totals (the budgets keep their state).
    pub fn reset_totals(&self) {
        if let Some(c) = &self.charging {
            c.capacity.lock().unwrap().totals = Totals::default();
        }
    }

    async fn start_with(
        upstream: &str,
        charging: Option<Arc<Charging>>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let operations = Arc::new(Mutex::new(Vec::new()));
        let actions = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
        let client = reqwest::Client::new();
        let upstream = upstream.trim_end_matches('/').to_string();
        let failures = Arc::new(Mutex::new(std::collections::VecDeque::new()));
        let (ops, acts, fails) = (operations.clone(), actions.clone(), failures.clone());
        let charge = charging.clone();
        let task = server::serve(listener, move |req: Request| {
            let (client, upstream) = (client.clone(), upstream.clone());
            let (ops, acts, fails) = (ops.clone(), acts.clone(), fails.clone());
            let charge = charge.clone();
            async move {
                acts.lock().unwrap().extend(iam_actions(&req));
                if let Some(resp) = injected_failure(&fails, &ops, &req) {
                    return resp;
                }
                let Some(charge) = charge else {
                    return forward(&client, &upstream, &ops, req).await;
                };
                let op = target(&req).rsplit('.').next().unwrap_or("").to_string();
                let copy = copy_of(&req);
                ops.lock().unwrap().push(target(&req));
                charge
                    .handle(
                        &client,
                        &upstream,
                        &op,
                        &copy,
                        forward(&client, &upstream, &Mutex::new(Vec::new()), req),
                    )
                    .await
            }
        });
        (
            CountingProxy {
                endpoint,
                operations,
                actions,
                failures,
                charging,
            },
            task,
        )
    }

    /// The next request of `operation` (e.g. "TransactWriteItems") is answered with
    /// `status` and the DynamoDB error `body` instead of reaching the server.
    pub fn fail_next(&self, operation: &str, status: u16, body: serde_json::Value) {
        self.failures
            .lock()
            .unwrap()
            .push_back((operation.to_string(), status, body));
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

    /// The operations seen so far by their short names, e.g. "TransactWriteItems".
    pub fn operation_names(&self) -> Vec<String> {
        self.operations()
            .iter()
            .map(|o| o.rsplit('.').next().unwrap_or(o).to_string())
            .collect()
    }

    pub fn reset(&self) {
        self.operations.lock().unwrap().clear();
    }
}

fn injected_failure(
    failures: &Mutex<std::collections::VecDeque<(String, u16, serde_json::Value)>>,
    ops: &Mutex<Vec<String>>,
    req: &Request,
) -> Option<Response> {
    let target = target(req);
    let mut failures = failures.lock().unwrap();
    let index = failures
        .iter()
        .position(|(op, _, _)| target.rsplit('.').next() == Some(op.as_str()))?;
    let (_, status, body) = failures.remove(index)?;
    ops.lock().unwrap().push(target);
    Some(
        http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amzn-requestid", "injected-by-test")
            .body(Bytes::from(body.to_string()))
            .unwrap(),
    )
}

fn copy_of(req: &Request) -> Request {
    let mut copy = http::Request::builder().uri(req.uri().clone());
    for (name, value) in req.headers() {
        copy = copy.header(name, value);
    }
    copy.body(req.body().clone())
        .expect("a copy of a valid request")
}

fn target(req: &Request) -> String {
    req.headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
        .to_string()
}

fn iam_actions(req: &Request) -> Vec<String> {
    let operation = target(req)
        .split_once('.')
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
    ops.lock().unwrap().push(target(&req));
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
