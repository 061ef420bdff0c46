//! The page's weight: JS + CSS at most 150 KB gzip (the budget). Prints
//! each file's raw and gzip size.

use std::io::Write;

fn gzip(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

#[test]
fn js_and_css_stay_under_150_kb_gzip() {
    let mut total = (0, 0);
    for (name, bytes) in desk::files() {
        let z = gzip(bytes);
        println!("{name:<28} {:>7} B raw {:>6} B gzip", bytes.len(), z);
        if name.ends_with(".js") || name.ends_with(".css") {
            total.0 += bytes.len();
            total.1 += z;
        }
    }
    println!(
        "JS + CSS: {} B raw, {} B gzip (budget 153600)",
        total.0, total.1
    );
    assert!(total.1 > 0, "the page has its script and styles");
    assert!(total.1 <= 150 * 1024, "JS + CSS are {} B gzip", total.1);
}
