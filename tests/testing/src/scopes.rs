//! Requested scope strings: a small parser for `name`, `*name` and `name[dep dep[...]]`,
//! and the scope → resource server mapping Globus Auth uses.
//!
//! Private to this crate on purpose: the server must not share a parser with the client
//! it tests (a bug in one would then hide in both).

use std::fmt;

/// One requested scope with its dependent scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeNode {
    pub(crate) name: String,
    pub(crate) optional: bool,
    pub(crate) dependencies: Vec<ScopeNode>,
}

/// Why a scope string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeError(pub(crate) String);

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Name { optional: bool, name: &'a str },
    Open,
    Close,
}

fn tokenize(input: &str) -> Result<Vec<Token<'_>>, ScopeError> {
    let mut tokens = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b']' => {
                tokens.push(Token::Close);
                i += 1;
            }
            b if b.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                let optional = bytes[i] == b'*';
                if optional {
                    i += 1;
                    if i >= bytes.len()
                        || matches!(bytes[i], b'[' | b']' | b'*')
                        || bytes[i].is_ascii_whitespace()
                    {
                        return Err(ScopeError(format!(
                            "'*' at byte {start} must directly precede a scope name"
                        )));
                    }
                }
                let name_start = i;
                while i < bytes.len()
                    && !matches!(bytes[i], b'[' | b']')
                    && !bytes[i].is_ascii_whitespace()
                {
                    if bytes[i] == b'*' {
                        return Err(ScopeError(format!(
                            "'*' at byte {i} is only allowed before a scope name"
                        )));
                    }
                    i += 1;
                }
                tokens.push(Token::Name {
                    optional,
                    name: &input[name_start..i],
                });
            }
        }
    }
    Ok(tokens)
}

/// Parses a space-separated scope string. Duplicates at one level are merged (their
/// dependencies united); a scope that depends on itself (directly or not) is refused.
pub(crate) fn parse(input: &str) -> Result<Vec<ScopeNode>, ScopeError> {
    let tokens = tokenize(input)?;
    let mut pos = 0;
    let nodes = parse_level(&tokens, &mut pos, 0)?;
    if pos != tokens.len() {
        return Err(ScopeError("unbalanced ']' in scope string".to_owned()));
    }
    for node in &nodes {
        check_cycles(node, &mut Vec::new())?;
    }
    Ok(nodes)
}

fn parse_level(
    tokens: &[Token<'_>],
    pos: &mut usize,
    depth: usize,
) -> Result<Vec<ScopeNode>, ScopeError> {
    if depth > 32 {
        return Err(ScopeError(
            "scope dependencies nested too deeply".to_owned(),
        ));
    }
    let mut nodes: Vec<ScopeNode> = Vec::new();
    while *pos < tokens.len() {
        match tokens[*pos] {
            Token::Close => {
                if depth == 0 {
                    return Err(ScopeError("unbalanced ']' in scope string".to_owned()));
                }
                return Ok(nodes);
            }
            Token::Open => {
                return Err(ScopeError("'[' must follow a scope name".to_owned()));
            }
            Token::Name { optional, name } => {
                *pos += 1;
                let mut dependencies = Vec::new();
                if *pos < tokens.len() && tokens[*pos] == Token::Open {
                    *pos += 1;
                    dependencies = parse_level(tokens, pos, depth + 1)?;
                    if *pos >= tokens.len() {
                        return Err(ScopeError("unbalanced '[' in scope string".to_owned()));
                    }
                    *pos += 1; // the ']'
                    if dependencies.is_empty() {
                        return Err(ScopeError(format!("empty dependency list after '{name}'")));
                    }
                }
                merge_into(
                    &mut nodes,
                    ScopeNode {
                        name: name.to_owned(),
                        optional,
                        dependencies,
                    },
                );
            }
        }
    }
    if depth > 0 {
        return Err(ScopeError("unbalanced '[' in scope string".to_owned()));
    }
    Ok(nodes)
}

fn merge_into(nodes: &mut Vec<ScopeNode>, node: ScopeNode) {
    if let Some(existing) = nodes
        .iter_mut()
        .find(|n| n.name == node.name && n.optional == node.optional)
    {
        for dep in node.dependencies {
            merge_into(&mut existing.dependencies, dep);
        }
    } else {
        nodes.push(node);
    }
}

fn check_cycles<'a>(node: &'a ScopeNode, ancestors: &mut Vec<&'a str>) -> Result<(), ScopeError> {
    if ancestors.contains(&node.name.as_str()) {
        return Err(ScopeError(format!(
            "scope '{}' depends on itself",
            node.name
        )));
    }
    ancestors.push(&node.name);
    for dep in &node.dependencies {
        check_cycles(dep, ancestors)?;
    }
    ancestors.pop();
    Ok(())
}

/// The Globus Auth resource server.
pub(crate) const AUTH_RESOURCE_SERVER: &str = "auth.globus.org";

/// The resource server a scope string belongs to, or `None` for a scope Globus Auth
/// would not know.
pub(crate) fn resource_server(scope: &str) -> Option<String> {
    if matches!(scope, "openid" | "profile" | "email") {
        return Some(AUTH_RESOURCE_SERVER.to_owned());
    }
    if let Some(rest) = scope.strip_prefix("urn:globus:auth:scope:") {
        let (rs, name) = rest.split_once(':')?;
        if rs.is_empty() || name.is_empty() {
            return None;
        }
        return Some(rs.to_owned());
    }
    if let Some(rest) = scope.strip_prefix("https://auth.globus.org/scopes/") {
        let (id, name) = rest.split_once('/')?;
        if id.is_empty() || name.is_empty() {
            return None;
        }
        return Some(id.to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str) -> ScopeNode {
        ScopeNode {
            name: name.to_owned(),
            optional: false,
            dependencies: Vec::new(),
        }
    }

    #[test]
    fn parses_flat_and_nested_scopes() {
        let parsed = parse("  openid  a[b *c[d]] e ").expect("parses");
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[0], leaf("openid"));
        assert_eq!(parsed[1].name, "a");
        assert_eq!(parsed[1].dependencies[0], leaf("b"));
        assert!(parsed[1].dependencies[1].optional);
        assert_eq!(parsed[1].dependencies[1].name, "c");
        assert_eq!(parsed[1].dependencies[1].dependencies, vec![leaf("d")]);
        assert_eq!(parsed[2], leaf("e"));
    }

    #[test]
    fn merges_duplicates() {
        let parsed = parse("a[b] a[c] a").expect("parses");
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].dependencies, vec![leaf("b"), leaf("c")]);
    }

    #[test]
    fn rejects_bad_strings() {
        for bad in [
            "a[b", "a]", "[a]", "a[]", "a[b]]", "* a", "a*b", "**a", "a[b[a]]", "a[*]",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("").expect("empty is fine"), Vec::new());
    }

    #[test]
    fn maps_resource_servers() {
        assert_eq!(
            resource_server("openid").as_deref(),
            Some("auth.globus.org")
        );
        assert_eq!(resource_server("email").as_deref(), Some("auth.globus.org"));
        assert_eq!(
            resource_server("urn:globus:auth:scope:auth.globus.org:view_identities").as_deref(),
            Some("auth.globus.org")
        );
        assert_eq!(
            resource_server("urn:globus:auth:scope:transfer.api.globus.org:all").as_deref(),
            Some("transfer.api.globus.org")
        );
        assert_eq!(
            resource_server("https://auth.globus.org/scopes/abc-123/data_access").as_deref(),
            Some("abc-123")
        );
        for unknown in [
            "transfer",
            "urn:globus:auth:scope:transfer.api.globus.org",
            "urn:globus:auth:scope::all",
            "https://auth.globus.org/scopes/abc",
            "https://auth.globus.org/scopes//x",
            "https://example.org/scopes/abc/x",
        ] {
            assert_eq!(resource_server(unknown), None, "{unknown}");
        }
    }
}
