//! A small HTTP/1 server over hyper, and the conversion between hyper requests and
//! the `lambda_http` types the function handlers take.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use std::convert::Infallible;
use std::future::Future;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub type Request = http::Request<Bytes>;
pub type Response = http::Response<Bytes>;

/// Serves `handler` on `listener` until the returned task is aborted.
pub fn serve<F, Fut>(listener: TcpListener, handler: F) -> JoinHandle<()>
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let bytes = match body.collect().await {
                            Ok(b) => b.to_bytes(),
                            Err(_) => {
                                return Ok::<_, Infallible>(
                                    http::Response::builder()
                                        .status(400)
                                        .body(Full::new(Bytes::new()))
                                        .unwrap(),
                                );
                            }
                        };
                        let mut req = http::Request::from_parts(parts, bytes);
                        req.extensions_mut().insert(Peer(peer));
                        let resp = handler(req).await;
                        Ok(resp.map(Full::new))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    })
}

/// The client's address, as the server accepted it.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// The request as API Gateway (through lambda_http) hands it to a function, with
/// the client's address as its request context's `sourceIp`.
pub fn to_lambda(req: Request) -> lambda_http::Request {
    use lambda_http::RequestExt;
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;
    let (parts, body) = req.into_parts();
    let peer = parts.extensions.get::<Peer>().copied();
    let body = if body.is_empty() {
        lambda_http::Body::Empty
    } else {
        lambda_http::Body::Binary(body.to_vec())
    };
    let req = http::Request::from_parts(parts, body);
    match peer {
        Some(Peer(addr)) => {
            let mut ctx = ApiGatewayV2httpRequestContext::default();
            ctx.http.source_ip = Some(addr.ip().to_string());
            ctx.http.method = req.method().clone();
            req.with_request_context(RequestContext::ApiGatewayV2(ctx))
        }
        None => req,
    }
}

pub fn from_lambda(resp: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = resp.into_parts();
    http::Response::from_parts(parts, Bytes::copy_from_slice(body.as_ref()))
}

pub fn json_response(status: u16, value: &serde_json::Value) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Bytes::from(value.to_string()))
        .expect("valid response")
}
