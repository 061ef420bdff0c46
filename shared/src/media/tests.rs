use super::*;

#[test]
fn file_names_lose_paths_controls_and_tricks() {
    let k = MediaKind::Document;
    assert_eq!(safe_filename(Some("../../etc/passwd"), k, None), "passwd");
    assert_eq!(
        safe_filename(Some("C:\\Users\\a\\invoice.pdf"), k, None),
        "invoice.pdf"
    );
    assert_eq!(safe_filename(Some("a\"b\r\nc.pdf"), k, None), "abc.pdf");
    assert_eq!(
        safe_filename(Some("photo\u{202e}gpj.exe"), k, None),
        "photogpj.exe"
    );
    assert_eq!(safe_filename(Some(".hidden"), k, None), "hidden");
    assert_eq!(
        safe_filename(None, MediaKind::Voice, Some("audio/ogg; codecs=opus")),
        "voice.ogg"
    );
    assert_eq!(
        safe_filename(Some("  "), MediaKind::Image, Some("image/png")),
        "image.png"
    );
    let long = format!("{}.pdf", "x".repeat(300));
    let cut = safe_filename(Some(&long), k, None);
    assert_eq!(cut.chars().count(), 120);
    assert!(cut.ends_with(".pdf"));
}

#[test]
fn types_are_read_from_the_bytes() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(sniff(png), Some("image/png"));
    assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
    assert_eq!(sniff(b"hello"), None);
    assert!(!mismatch(Some("image/png"), Some("image/png")));
    assert!(!mismatch(Some("image/jpg"), Some("image/jpeg")));
    assert!(!mismatch(Some("audio/ogg; codecs=opus"), Some("audio/ogg")));
    assert!(!mismatch(Some("text/plain"), None));
    assert!(!mismatch(
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        Some("application/zip")
    ));
    assert!(mismatch(Some("image/jpeg"), Some("application/pdf")));
    assert!(mismatch(
        Some("application/pdf"),
        Some("application/x-executable")
    ));
}

#[test]
fn only_raster_images_are_shown_inline_and_nothing_claims_html() {
    assert!(inline_safe("image/png"));
    assert!(inline_safe("IMAGE/JPEG"));
    assert!(!inline_safe("image/svg+xml"));
    assert!(!inline_safe("text/html"));
    assert_eq!(
        served_type(Some("image/png"), Some("image/png")),
        "image/png"
    );
    assert_eq!(
        served_type(Some("text/html"), None),
        "application/octet-stream"
    );
    assert_eq!(
        served_type(Some("image/svg+xml"), None),
        "application/octet-stream"
    );
    assert_eq!(
        served_type(Some("image/png"), Some("application/pdf")),
        "application/pdf"
    );
    assert_eq!(served_type(Some("text/plain"), None), "text/plain");
    assert_eq!(kind_of("image/svg+xml"), MediaKind::Document);
    assert_eq!(kind_of("image/webp"), MediaKind::Image);
    assert_eq!(kind_of("audio/ogg"), MediaKind::Audio);
}

#[test]
fn hashes_are_compared_in_either_encoding() {
    let hex = sha256_hex(b"abc");
    assert!(hash_matches(&hex, &hex));
    assert!(hash_matches(
        "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
        &hex
    ));
    assert!(!hash_matches(
        "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
        &hex
    ));
    assert!(!hash_matches("not a hash", &hex));
}

#[test]
fn limits_read_from_the_environment_name_the_field() {
    let env = |k: &str| match k {
        "MEDIA_MAX_FILE_MB" => Some("10".to_string()),
        _ => None,
    };
    let l = MediaLimits::load(&env).unwrap();
    assert_eq!(l.max_file_bytes, 10 * 1024 * 1024);
    let bad = |k: &str| (k == "MEDIA_MAX_FILE_MB").then(|| "lots".to_string());
    assert!(
        MediaLimits::load(&bad)
            .unwrap_err()
            .to_string()
            .contains("MEDIA_MAX_FILE_MB")
    );
    let inverted = |k: &str| match k {
        "MEDIA_MAX_FILE_MB" => Some("30".to_string()),
        "MEDIA_MAX_MESSAGE_MB" => Some("20".to_string()),
        _ => None,
    };
    assert!(MediaLimits::load(&inverted).is_err());
}
