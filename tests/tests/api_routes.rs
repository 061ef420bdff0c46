//! The HTTP API as deployed: the template's routes are exactly the documented ones,
//! each to its function, and docs/openapi.yaml describes every route and only those.

use asyncdesk_tests::template::Template;

#[test]
fn api_routes_are_the_documented_ones() {
    let mut routes: Vec<(String, String, String)> = Template::load()
        .unwrap()
        .http_routes()
        .into_iter()
        .map(|r| (r.method, r.path, r.function))
        .collect();
    routes.sort();
    let expected = [
        ("DELETE", "/customers/{id}/data", "AgentReplyFunction"),
        ("DELETE", "/saved-replies/{id}", "AgentReplyFunction"),
        ("DELETE", "/session", "AgentReplyFunction"),
        ("GET", "/availability", "AvailabilityFunction"),
        ("GET", "/changes", "AgentReplyFunction"),
        ("GET", "/conversations", "AgentReplyFunction"),
        ("GET", "/conversations/{id}", "AgentReplyFunction"),
        ("GET", "/desk", "DeskFunction"),
        ("GET", "/desk/{proxy+}", "DeskFunction"),
        ("GET", "/reports/calibration", "ReportsFunction"),
        ("GET", "/reports/summary", "ReportsFunction"),
        ("GET", "/reports/waits", "ReportsFunction"),
        ("GET", "/saved-replies", "AgentReplyFunction"),
        ("GET", "/session", "AgentReplyFunction"),
        ("GET", "/templates", "AgentReplyFunction"),
        ("GET", "/webhooks/whatsapp", "InboundWebhookFunction"),
        ("GET", "/widget.js", "WidgetFunction"),
        ("GET", "/widget/config", "WidgetFunction"),
        ("GET", "/widget/messages", "WidgetFunction"),
        ("OPTIONS", "/widget/config", "WidgetFunction"),
        ("OPTIONS", "/widget/messages", "WidgetFunction"),
        ("OPTIONS", "/widget/session", "WidgetFunction"),
        ("PATCH", "/conversations/{id}", "AgentReplyFunction"),
        (
            "POST",
            "/conversations/{id}/attachments",
            "AgentReplyFunction",
        ),
        ("POST", "/conversations/{id}/messages", "AgentReplyFunction"),
        ("POST", "/conversations/{id}/notes", "AgentReplyFunction"),
        ("POST", "/saved-replies", "AgentReplyFunction"),
        ("POST", "/session", "AgentReplyFunction"),
        ("POST", "/webhooks/telegram", "InboundWebhookFunction"),
        ("POST", "/webhooks/whatsapp", "InboundWebhookFunction"),
        ("POST", "/widget/messages", "WidgetFunction"),
        ("POST", "/widget/session", "WidgetFunction"),
        ("PUT", "/saved-replies/{id}", "AgentReplyFunction"),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(routes, expected);
}

/// docs/openapi.yaml describes exactly the template's routes, each with its
/// responses, and is a 3.1 document.
#[test]
fn the_openapi_document_has_every_route_and_only_those() {
    let text = std::fs::read_to_string(
        asyncdesk_tests::workspace_root()
            .join("docs")
            .join("openapi.yaml"),
    )
    .unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("valid YAML");
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        for (method, op) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if method == "parameters" {
                continue;
            }
            assert!(
                op["responses"].as_mapping().is_some_and(|r| !r.is_empty()),
                "{method} {path:?} has responses"
            );
            documented.push((method.to_uppercase(), path.as_str().unwrap().to_string()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = Template::load()
        .unwrap()
        .http_routes()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    routes.sort();
    assert_eq!(documented, routes);
    // Every $ref points at a component that exists.
    for r in text.match_indices("$ref: \"#/components/") {
        let rest = &text[r.0 + "$ref: \"#/components/".len()..];
        let target = &rest[..rest.find('"').unwrap()];
        let (kind, name) = target.split_once('/').unwrap();
        assert!(
            !doc["components"][kind][name].is_null(),
            "missing component {target}"
        );
    }
}
