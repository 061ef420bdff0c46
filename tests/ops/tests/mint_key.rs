//! `cargo mint-key`: a new high-entropy key each time, and a config line the
//! functions accept.

use asyncdesk::auth::AgentKeys;

#[test]
fn minted_keys_are_high_entropy_and_work_with_their_config_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_asyncdesk-mint-key"))
        .arg("carol")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let key = lines[1];
    let config = lines[3];
    assert_eq!(key.len(), 43, "32 bytes, base64url");
    let keys = AgentKeys::parse(config).unwrap();
    assert_eq!(
        keys.authenticate(Some(&format!("Bearer {key}"))),
        Some("carol")
    );
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_asyncdesk-mint-key"))
        .arg("carol")
        .output()
        .unwrap();
    assert_ne!(
        String::from_utf8(again.stdout).unwrap(),
        text,
        "a new key each time"
    );
}
