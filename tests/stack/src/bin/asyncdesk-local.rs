//! `asyncdesk-local`: runs the whole product on 127.0.0.1 with no AWS account.
//! See README.md, "Run it locally".

use asyncdesk_stack::stack::{self, DEV_AGENT_KEY, Settings};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn")),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .compact()
        .init();
    let settings = Settings::new(&|k| std::env::var(k).ok());
    let dev_key = settings.uses_dev_agent_key();
    let stack = match stack::start(settings).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("asyncdesk-local: {e}");
            std::process::exit(1);
        }
    };
    let base = &stack.base_url;
    let hours = &stack.auto_reply.hours;
    let now = chrono::Utc::now();
    let open_now = match hours.off_hours_period(now) {
        None => "OPEN now: messages get no auto-reply (set BUSINESS_HOURS to try one)".to_string(),
        Some(p) => format!(
            "CLOSED now: auto-replies promise a reply by {}",
            hours.render_reply_by(p.reply_by)
        ),
    };
    println!();
    println!("asyncdesk local stack on {base}");
    println!(
        "  DynamoDB API:        {} (table {})",
        stack.dynamodb_endpoint, stack.table_name
    );
    println!("  WhatsApp webhook:    {base}/webhooks/whatsapp");
    println!("  Telegram webhook:    {base}/webhooks/telegram");
    println!(
        "  Email in (SES->SNS): POST {base}/dev/email  (a raw RFC 822 mail; ?encoding=base64|utf8)"
    );
    println!("  Agent API:           {base}/conversations");
    println!("  Availability:        {base}/availability   (public)");
    let named = base.replace("127.0.0.1", "localhost");
    println!("  Desk:                {named}/desk");
    println!("  Website chat demo:   {named}/dev/site   (the widget: {base}/widget.js)");
    println!("  Outbox (sandboxes):  {base}/dev/outbox");
    if dev_key {
        println!(
            "  Dev agent key:       {DEV_AGENT_KEY}   (Authorization: Bearer {DEV_AGENT_KEY})"
        );
    }
    println!("  Business hours:      {open_now}");
    println!("Ctrl-C stops everything.");
    println!();
    let _ = tokio::signal::ctrl_c().await;
    println!("stopping");
    stack.stop();
}
