//! Lambda wiring: the configuration once at cold start, then the handler per request.

use asyncdesk::config::{DeskConfig, process_env};
use lambda_http::{Error, Request, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    asyncdesk::init_lambda_tracing();
    let desk = Arc::new(desk::Desk::new(&DeskConfig::load(&process_env)?));
    lambda_http::run(service_fn(move |req: Request| {
        let desk = Arc::clone(&desk);
        async move { Ok::<_, Error>(desk::handle(&req, &desk)) }
    }))
    .await
}
