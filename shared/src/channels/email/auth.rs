//! Who sent a mail, by what SES's receiving checks authenticated, never by what the
//! mail's headers say (anyone can write a From or a Reply-To).
//!
//! - DMARC `PASS` authenticates the From address (DMARC checks alignment itself).
//! - DKIM `PASS` authenticates From only when every DKIM signature of the mail is
//!   aligned with From's domain (relaxed: the same domain or a parent or child of it):
//!   SES says that a signature passed, not which one, so a mail that also carries a
//!   signature of another domain proves nothing about From.
//! - SPF `PASS` authenticates the envelope sender (MAIL FROM, the Return-Path), the
//!   address RFC 3834 section 4 says automatic responses go to.
//! - Otherwise nothing is authenticated: the mail is `unverified`.

use crate::conversation::MailAuth;

/// Where the authenticated address comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticatedBy {
    Dmarc,
    Dkim,
    Spf,
}

impl AuthenticatedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthenticatedBy::Dmarc => "dmarc",
            AuthenticatedBy::Dkim => "dkim",
            AuthenticatedBy::Spf => "spf",
        }
    }
}

fn passed(v: &Option<String>) -> bool {
    v.as_deref() == Some("PASS")
}

fn domain_of(address: &str) -> Option<&str> {
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && domain.contains('.')).then_some(domain)
}

/// Relaxed alignment of a signing domain with From's domain.
fn aligned(signing: &str, from_domain: &str) -> bool {
    let (s, f) = (
        signing.to_ascii_lowercase(),
        from_domain.to_ascii_lowercase(),
    );
    s.contains('.') && (s == f || f.ends_with(&format!(".{s}")) || s.ends_with(&format!(".{f}")))
}

/// The `d=` tag of a DKIM-Signature header value.
pub fn dkim_domain(signature: &str) -> Option<String> {
    signature.split(';').find_map(|tag| {
        let (name, value) = tag.split_once('=')?;
        (name.trim() == "d").then(|| {
            value
                .split_whitespace()
                .collect::<String>()
                .to_ascii_lowercase()
        })
    })
}

/// Decides what `verdicts` authenticate for a mail from `from` (its From address),
/// sent with envelope sender `envelope` and signed by `dkim_domains` (the `d=` of
/// each DKIM-Signature). Returns the verdicts with `by` set, and the authenticated
/// address (lower-case), if any.
pub fn authenticate(
    verdicts: &MailAuth,
    from: Option<&str>,
    envelope: Option<&str>,
    dkim_domains: &[String],
) -> (MailAuth, Option<String>) {
    let from = from.map(str::to_ascii_lowercase);
    let from_domain = from.as_deref().and_then(domain_of);
    let by = if from_domain.is_some() && passed(&verdicts.dmarc) {
        Some(AuthenticatedBy::Dmarc)
    } else if let Some(domain) = from_domain
        && passed(&verdicts.dkim)
        && !dkim_domains.is_empty()
        && dkim_domains.iter().all(|d| aligned(d, domain))
    {
        Some(AuthenticatedBy::Dkim)
    } else if passed(&verdicts.spf) && envelope.and_then(domain_of).is_some() {
        Some(AuthenticatedBy::Spf)
    } else {
        None
    };
    let address = match by {
        Some(AuthenticatedBy::Dmarc | AuthenticatedBy::Dkim) => from.clone(),
        Some(AuthenticatedBy::Spf) => envelope.map(str::to_ascii_lowercase),
        None => None,
    };
    let mut auth = verdicts.clone();
    auth.by = by.map(|b| b.as_str().to_string());
    (auth, address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(spf: &str, dkim: &str, dmarc: Option<&str>) -> MailAuth {
        MailAuth {
            spf: Some(spf.into()),
            dkim: Some(dkim.into()),
            dmarc: dmarc.map(str::to_string),
            by: None,
        }
    }

    #[test]
    fn only_a_passing_verdict_authenticates_and_only_its_address() {
        let from = Some("Ada@Example.org");
        let env = Some("bounce-7@mailer.example.net");
        let d = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // DMARC: From.
        let (a, who) = authenticate(&verdicts("FAIL", "FAIL", Some("PASS")), from, env, &[]);
        assert_eq!(
            (a.by.as_deref(), who.as_deref()),
            (Some("dmarc"), Some("ada@example.org"))
        );
        // DKIM aligned (a subdomain signs): From.
        let (a, who) = authenticate(
            &verdicts("FAIL", "PASS", Some("GRAY")),
            from,
            env,
            &d(&["mail.example.org"]),
        );
        assert_eq!(
            (a.by.as_deref(), who.as_deref()),
            (Some("dkim"), Some("ada@example.org"))
        );
        // DKIM passes, but one signature is another domain's: not From.
        let (_, who) = authenticate(
            &verdicts("FAIL", "PASS", None),
            from,
            env,
            &d(&["example.org", "attacker.example"]),
        );
        assert_eq!(who, None);
        // A signing domain that is only a suffix in text, not a parent.
        let (_, who) = authenticate(&verdicts("FAIL", "PASS", None), from, env, &d(&["le.org"]));
        assert_eq!(who, None);
        // SPF: the envelope sender, never From.
        let (a, who) = authenticate(&verdicts("PASS", "FAIL", Some("FAIL")), from, env, &[]);
        assert_eq!(
            (a.by.as_deref(), who.as_deref()),
            (Some("spf"), Some("bounce-7@mailer.example.net"))
        );
        // The null sender authenticates nobody.
        let (_, who) = authenticate(&verdicts("PASS", "FAIL", None), from, Some(""), &[]);
        assert_eq!(who, None);
        // Nothing passes: unverified.
        for v in ["FAIL", "GRAY", "PROCESSING_FAILED"] {
            let (a, who) = authenticate(&verdicts(v, v, Some(v)), from, env, &d(&["example.org"]));
            assert_eq!((a.by, who), (None, None));
        }
        let (a, who) = authenticate(&MailAuth::default(), from, env, &[]);
        assert_eq!((a.by, who), (None, None));
    }

    #[test]
    fn the_signing_domain_is_read_from_the_signature() {
        assert_eq!(
            dkim_domain("v=1; a=rsa-sha256; d=Example.ORG; s=sel; h=From:To; b=abc"),
            Some("example.org".into())
        );
        assert_eq!(dkim_domain("v=1; s=sel; b=abc"), None);
    }
}
