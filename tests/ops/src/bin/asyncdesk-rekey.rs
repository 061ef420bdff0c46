//! `asyncdesk-rekey <table>`: gives every conversation of a table the queue indexes'
//! keys its state has: after an upgrade from the `by_queue` index, or a change of the
//! number of shards (docs/data-model.md, "Upgrading a table"). Idempotent. Uses the
//! standard AWS environment (region, credentials, `AWS_ENDPOINT_URL`).

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table] = args.as_slice() else {
        eprintln!("usage: asyncdesk-rekey <table name>");
        std::process::exit(2);
    };
    // A workstation's AWS environment (profiles, SSO...), through aws-config.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(asyncdesk::sdk::http_client())
        .load()
        .await;
    let store = asyncdesk::store::dynamo::DynamoStore::from_config(&sdk, table.as_str());
    match store.rekey().await {
        Ok(done) => println!(
            "{table}: {} conversations re-keyed, {} right already, {} changed meanwhile (by the functions), {} unreadable",
            done.updated, done.unchanged, done.skipped, done.unreadable
        ),
        Err(e) => {
            eprintln!("asyncdesk-rekey: {e}");
            std::process::exit(1);
        }
    }
}
