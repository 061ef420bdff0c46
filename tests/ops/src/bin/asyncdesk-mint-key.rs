//! `asyncdesk-mint-key <agent id>`: a new agent API key (32 random bytes from the OS,
//! base64url), printed once, and its line for `AGENT_API_KEYS`. The key itself is
//! never stored: the deployment keeps only its SHA-256, which is safe because the key
//! is high-entropy (a guessable key would be found from its hash).

use asyncdesk::auth::{AgentKeys, hash_key};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [agent] = args.as_slice() else {
        eprintln!("usage: cargo mint-key <agent id>");
        std::process::exit(2);
    };
    let mut bytes = [0u8; 32];
    if let Err(e) = getrandom::getrandom(&mut bytes) {
        eprintln!("asyncdesk-mint-key: no randomness from the OS: {e}");
        std::process::exit(1);
    }
    let key = URL_SAFE_NO_PAD.encode(bytes);
    let line = format!("{agent}={}", hash_key(&key));
    // The same check the functions make at cold start.
    if let Err(e) = AgentKeys::parse(&line) {
        eprintln!("asyncdesk-mint-key: {e}");
        std::process::exit(2);
    }
    println!("API key for {agent} (shown once; give it to the agent, keep no copy):");
    println!("  {key}");
    println!("Add to AGENT_API_KEYS (comma-separated with the others):");
    println!("  {line}");
}
