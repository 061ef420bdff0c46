//! `asyncdesk-backfill-queue <table>`: gives every conversation of a table written
//! before the queue index its `queue` attribute (docs/data-model.md, "The queue's
//! index"). Uses the standard AWS environment (region, credentials,
//! `AWS_ENDPOINT_URL`).

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table] = args.as_slice() else {
        eprintln!("usage: asyncdesk-backfill-queue <table name>");
        std::process::exit(2);
    };
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    match asyncdesk_tests::backfill::backfill_queue(&client, table).await {
        Ok(done) => println!(
            "{table}: {} conversations given their queue, {} already had one, {} unreadable",
            done.updated, done.skipped, done.unreadable
        ),
        Err(e) => {
            eprintln!("asyncdesk-backfill-queue: {e}");
            std::process::exit(1);
        }
    }
}
