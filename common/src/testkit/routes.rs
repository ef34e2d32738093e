//! The route table read from a router's source: each `.route("...", ...)` call with its
//! methods, under the prefix its section of the source is nested at. The OpenAPI completeness
//! test and the console's isolation matrix read the routers this way.

/// Every (path, method) registered in `text` (a router's source, its tests left out): each
/// section runs from its marker to the next one and its routes take the section's prefix.
pub fn routes_in(text: &str, sections: &[(&str, &str)]) -> Vec<(String, String)> {
    let router = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut all = Vec::new();
    for (i, (marker, prefix)) in sections.iter().enumerate() {
        let start = router.find(marker).unwrap_or_else(|| panic!("{marker:?} is in the router's source"));
        let end =
            sections.get(i + 1).and_then(|(next, _)| router[start..].find(next)).map_or(router.len(), |e| start + e);
        for call in route_calls(&router[start..end]) {
            if let Some(operations) = operations(call) {
                all.extend(operations.into_iter().map(|(path, method)| (format!("{prefix}{path}"), method)));
            }
        }
    }
    all
}

/// The text of each `.route(...)` call in `text`, up to its closing parenthesis.
fn route_calls(text: &str) -> Vec<&str> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(".route(") {
        let call = &rest[start + ".route(".len()..];
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(call.len(), |(i, _)| i);
        calls.push(&call[..end]);
        rest = &call[end..];
    }
    calls
}

/// The (path, method) pairs a route call registers; `None` for a path that is not a literal.
fn operations(call: &str) -> Option<Vec<(String, String)>> {
    let path = call.trim_start().strip_prefix('"')?.split('"').next()?.to_owned();
    let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
        .into_iter()
        .filter(|m| {
            call.match_indices(&format!("{m}("))
                .any(|(i, _)| !call[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        })
        .map(str::to_owned)
        .collect();
    Some(methods.into_iter().map(|m| (path.clone(), m)).collect())
}
