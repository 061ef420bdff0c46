//! Lambda wiring: the schedule once at cold start, then the handler per request.

use asyncdesk::config::{AvailabilityConfig, process_env};
use lambda_http::{Error, Request, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    asyncdesk::init_lambda_tracing();
    let config = Arc::new(AvailabilityConfig::load(&process_env)?);
    lambda_http::run(service_fn(move |req: Request| {
        let config = Arc::clone(&config);
        async move {
            Ok::<_, Error>(availability::handle(
                &req,
                &config.hours,
                chrono::Utc::now(),
            ))
        }
    }))
    .await
}
