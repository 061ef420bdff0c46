//! A minimal Lambda function on the AWS SDK: the SDK's configuration loaded the way
//! the functions load it (same HTTP client), a DynamoDB client, and a handler that
//! answers each event with itself. What the functions' cold starts are measured
//! against.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = asyncdesk::sdk::load().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let _client = &client;
        async move { Ok::<_, Error>(event.payload) }
    }))
    .await
}
