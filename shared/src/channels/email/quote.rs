//! The customer's new text apart from the quoted history below it. Recognised
//! starts of a quote (the first one wins, and only after some new text):
//! - an attribution line: "On <date>, <name> wrote:" (also wrapped over two lines,
//!   and in German, French, Spanish, Dutch, Italian, Portuguese, Swedish);
//! - an Outlook header block: "From:" followed within four lines by "Sent:" or
//!   "Date:" (and their translations), or "-----Original Message-----";
//! - a forwarded-message marker;
//! - a run of `>` lines that reaches the end (bottom-posted quotes keep the text
//!   around them: only a trailing run counts).
//!
//! Both parts are kept; the agent API shows the new text first.

/// `(new text, quoted history)`. When nothing is recognised, or nothing would be
/// left above the quote, the whole text is new.
pub fn split(text: &str) -> (String, Option<String>) {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = quote_start(&lines) else {
        return (text.trim().to_string(), None);
    };
    let new_text = lines[..start].join("\n").trim().to_string();
    let quoted = lines[start..].join("\n").trim().to_string();
    if new_text.is_empty() || quoted.is_empty() {
        return (text.trim().to_string(), None);
    }
    (new_text, Some(quoted))
}

fn quote_start(lines: &[&str]) -> Option<usize> {
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if is_attribution(t) {
            return Some(i);
        }
        // An attribution wrapped over two lines.
        if let Some(next) = lines.get(i + 1)
            && starts_attribution(t)
            && is_attribution(&format!("{t} {}", next.trim()))
        {
            return Some(i);
        }
        if is_separator(t) || is_header_block(lines, i) {
            return Some(i);
        }
    }
    // A trailing run of '>' lines (with blank lines inside).
    let mut start = None;
    for (i, line) in lines.iter().enumerate().rev() {
        let t = line.trim_start();
        if t.starts_with('>') {
            start = Some(i);
        } else if !t.is_empty() {
            break;
        }
    }
    start
}

/// Attribution openers, lower-case.
const OPENERS: &[&str] = &[
    "on ", "am ", "le ", "el ", "op ", "il ", "em ", "den ", "on\u{a0}",
];
/// Attribution verbs, lower-case (at the end, or before the name).
const ENDINGS: &[&str] = &[
    "wrote",
    "schrieb",
    "a écrit",
    "escribió",
    "schreef",
    "ha scritto",
    "escreveu",
    "skrev",
    "writes",
];

fn starts_attribution(line: &str) -> bool {
    let l = line.to_lowercase();
    OPENERS.iter().any(|o| l.starts_with(o))
}

fn is_attribution(line: &str) -> bool {
    let l = line.to_lowercase();
    let Some(body) = l.strip_suffix(':') else {
        return false;
    };
    let body = body.trim_end();
    // "On <date>, <name> wrote:", but "Am <date> schrieb <name>:".
    starts_attribution(&l)
        && ENDINGS
            .iter()
            .any(|e| body.ends_with(e) || body.contains(&format!(" {e} ")))
        && l.len() < 300
}

fn is_separator(line: &str) -> bool {
    let l = line.to_lowercase();
    let l = l.trim_matches(|c: char| c == '-' || c == '_' || c.is_whitespace());
    [
        "original message",
        "ursprüngliche nachricht",
        "message d'origine",
        "mensaje original",
        "forwarded message",
        "begin forwarded message:",
        "weitergeleitete nachricht",
        "message transféré",
    ]
    .contains(&l)
}

const FROM_FIELDS: &[&str] = &["from:", "von:", "de:", "van:", "da:", "från:", "fra:"];
const DATE_FIELDS: &[&str] = &[
    "sent:",
    "date:",
    "gesendet:",
    "envoyé:",
    "enviado:",
    "verzonden:",
    "inviato:",
    "skickat:",
    "datum:",
    "sendt:",
];

/// "From: ..." with "Sent:"/"Date:" within the next four lines (Outlook).
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let l = lines[i].trim().to_lowercase();
    // Outlook sometimes bolds the field names: "*From:* ...".
    let l = l.trim_start_matches('*');
    if !FROM_FIELDS.iter().any(|f| l.starts_with(f)) {
        return false;
    }
    lines[i + 1..]
        .iter()
        .take(4)
        .map(|n| n.trim().to_lowercase())
        .any(|n| {
            DATE_FIELDS
                .iter()
                .any(|f| n.trim_start_matches('*').starts_with(f))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_style_is_separated() {
        let gmail =
            "Hello\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan One <xxx@gmail.com> wrote:\n\n> Hi\n";
        assert_eq!(
            split(gmail),
            (
                "Hello".to_string(),
                Some(
                    "On Mon, Apr 2, 2012 at 6:26 PM, Megan One <xxx@gmail.com> wrote:\n\n> Hi"
                        .to_string()
                )
            )
        );
        let wrapped = "Hello\n\nOn Apr 3, 2012, at 4:19 PM, bob\n<bob@example.com> wrote:\n\n> Hi";
        assert_eq!(split(wrapped).0, "Hello");
        let outlook = "Hello\n\nFrom: xxx@xxx.mailgun.org [mailto:xxx]\nSent: March-09-12 4:22 PM\nTo: Dan\nSubject: Loop\n\nHi dan";
        let (new, quoted) = split(outlook);
        assert_eq!(new, "Hello");
        assert!(quoted.unwrap().starts_with("From: xxx"));
        let original = "Thanks!\n\n-----Original Message-----\nFrom: a\nbody";
        assert_eq!(split(original).0, "Thanks!");
        let german = "Danke\n\nAm 02.04.2012 um 18:26 schrieb Megan One <x@y.de>:\n> Hallo";
        assert_eq!(split(german).0, "Danke");
        let trailing = "Sure, see below.\n\n> line one\n>\n> line two\n";
        assert_eq!(split(trailing).0, "Sure, see below.");
        // Interleaved answers: the '>' run is not at the end, so all of it is new.
        let inline = "> question?\nanswer\n> other?\nsecond answer";
        assert_eq!(split(inline), (inline.to_string(), None));
        // Only a quote (a forward without a note): the whole text stays the text.
        let only = "On Mon, Apr 2, 2012, Ann wrote:\n> Hi";
        assert_eq!(split(only), (only.to_string(), None));
        assert_eq!(split("Just text"), ("Just text".to_string(), None));
    }
}
