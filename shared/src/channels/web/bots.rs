//! Crawlers and link previewers load pages with the widget on them; what they post
//! is stored nowhere and never answered. Matched by the User-Agent's own words
//! (a bot that lies about itself is held by the rate limits instead).

/// What only automated clients put in a User-Agent (lower case): a product token
/// ending in "bot" (`Googlebot/2.1`, `bingbot/2.0`, `Slackbot-LinkExpanding`), and
/// the names of crawlers, previewers and HTTP libraries. A phone named "CUBOT P40"
/// is not a bot: the word must end a product name before its version.
const BOT_WORDS: &[&str] = &[
    "crawl",
    "spider",
    "slurp",
    "scraper",
    "facebookexternalhit",
    "embedly",
    "preview",
    "lighthouse",
    "pingdom",
    "uptimerobot",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "okhttp",
    "apache-httpclient",
    "wget",
    "headless-shell",
];

/// Whether `user_agent` says it is a bot (or says nothing at all).
pub fn is_bot(user_agent: Option<&str>) -> bool {
    let Some(ua) = user_agent.map(str::trim).filter(|u| !u.is_empty()) else {
        return true;
    };
    let ua = ua.to_ascii_lowercase();
    if BOT_WORDS.iter().any(|w| ua.contains(w)) {
        return true;
    }
    // A product name ending in "bot", right before its version or subtype.
    ua.match_indices("bot").any(|(i, _)| {
        matches!(
            ua[i + 3..].chars().next(),
            None | Some('/' | '-' | ';' | '_')
        ) && ua[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphabetic())
    })
}

#[cfg(test)]
mod tests {
    use super::is_bot;

    #[test]
    fn crawlers_are_bots_and_browsers_are_not() {
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0)",
            "facebookexternalhit/1.1",
            "Slackbot-LinkExpanding 1.0",
            "python-requests/2.31",
            "Mozilla/5.0 (compatible; YandexBot/3.0)",
            "Twitterbot/1.0",
            "",
        ] {
            assert!(is_bot(Some(bot)), "{bot}");
        }
        assert!(is_bot(None));
        for person in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
            "curl/8.5.0",
            "Mozilla/5.0 (Linux; Android 12; CUBOT P40) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 13; Robot Vacuum) Chrome/120",
        ] {
            assert!(!is_bot(Some(person)), "{person}");
        }
    }
}
