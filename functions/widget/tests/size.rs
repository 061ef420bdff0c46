//! The embed's weight: `widget.js` at most 35 KB gzip (the budget). Prints
//! its raw and gzip size.

use std::io::Write;

fn gzip(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

#[test]
fn the_widget_script_stays_under_35_kb_gzip() {
    let raw = widget::WIDGET_JS.len();
    let z = gzip(widget::WIDGET_JS.as_bytes());
    println!("widget.js: {raw} B raw, {z} B gzip (budget 35840)");
    assert!(z > 1000, "the script is there");
    assert!(z <= 35 * 1024, "widget.js is {z} B gzip");
}

#[test]
fn the_script_needs_nothing_a_strict_policy_forbids() {
    let js = widget::WIDGET_JS;
    for forbidden in ["eval(", "new Function", "innerHTML =", "document.write"] {
        assert!(!js.contains(forbidden), "widget.js uses {forbidden}");
    }
    assert!(
        js.contains("adoptedStyleSheets"),
        "styles without a <style> element"
    );
    assert!(
        js.contains("attachShadow"),
        "its DOM apart from the page's CSS"
    );
}
