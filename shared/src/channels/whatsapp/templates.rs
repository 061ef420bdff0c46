//! The approved message templates agents may pick outside WhatsApp's 24-hour
//! window, from `WHATSAPP_TEMPLATES`: a JSON list of
//! `{"name", "language", "parameters": <count>, "text": "Hi {{1}}, ..."}`. Meta
//! approves templates in WhatsApp Manager; this list only tells the desk which to
//! offer and how many parameters each takes (a wrong one is refused by Meta).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyTemplate {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: u8,
    /// The body as approved, with `{{1}}`.. placeholders, shown to the agent.
    #[serde(default)]
    pub text: String,
}

/// Parses `WHATSAPP_TEMPLATES`; the error says what is wrong.
pub fn parse(spec: &str) -> Result<Vec<ReplyTemplate>, String> {
    let list: Vec<ReplyTemplate> = serde_json::from_str(spec).map_err(|e| {
        format!("must be a JSON list of {{\"name\", \"language\", \"parameters\", \"text\"}}: {e}")
    })?;
    for (i, t) in list.iter().enumerate() {
        let name_ok = !t.name.is_empty()
            && t.name.len() <= 512
            && t.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(format!(
                "entry {i}: name must be lower-case letters, digits and '_'"
            ));
        }
        if t.language.is_empty() || t.language.len() > 10 {
            return Err(format!(
                "entry {i} ({}): language must be a code like en_US",
                t.name
            ));
        }
        if t.parameters > 20 {
            return Err(format!("entry {i} ({}): at most 20 parameters", t.name));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_errors_say_where() {
        let t =
            parse(r#"[{"name":"follow_up","language":"en_US","parameters":1,"text":"Hi {{1}}"}]"#)
                .unwrap();
        assert_eq!(t[0].parameters, 1);
        assert!(
            parse(r#"[{"name":"Follow Up","language":"en"}]"#)
                .unwrap_err()
                .contains("entry 0")
        );
        assert!(
            parse(r#"[{"name":"x","language":""}]"#)
                .unwrap_err()
                .contains("language")
        );
        assert!(parse("nope").unwrap_err().contains("JSON list"));
    }
}
