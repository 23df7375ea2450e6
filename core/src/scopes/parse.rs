//! The scope-string parser: text to a merged dependency graph to `Scope` trees.
//!
//! Parsing runs in three steps, none of them recursive on the input:
//! 1. a single left-to-right scan checks the grammar and records every scope
//!    occurrence into a graph with one node per scope name; a dependency edge
//!    `a -> b` is recorded once, required if any occurrence is required;
//! 2. an iterative depth-first walk rejects cycles and yields a post-order,
//!    from which the depth and the expanded size of every node are computed and
//!    checked against [`MAX_DEPTH`] and [`MAX_SCOPES`];
//! 3. the roots are expanded into owned `Scope` trees (recursion bounded by
//!    [`MAX_DEPTH`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::error::{ScopeParseError, ScopeParseErrorKind as Kind};
use super::name::is_forbidden;
use super::{MAX_DEPTH, MAX_SCOPES, Scope};

/// One occurrence of a scope, either at the top level or as a dependency.
#[derive(Clone, Copy)]
struct Link {
    /// The node it refers to.
    node: usize,
    /// Whether it is optional; required wins when occurrences are merged.
    optional: bool,
    /// The byte offset of the first occurrence's name.
    position: usize,
}

/// A scope name with the union of the dependencies it has anywhere.
struct Node<'a> {
    name: &'a str,
    edges: Vec<Link>,
}

/// The merged graph of a scope string.
#[derive(Default)]
pub(crate) struct Graph<'a> {
    nodes: Vec<Node<'a>>,
    by_name: BTreeMap<&'a str, usize>,
    /// `(from, to)` -> index into `nodes[from].edges`.
    edge_index: BTreeMap<(usize, usize), usize>,
    roots: Vec<Link>,
    /// node -> index into `roots`.
    root_index: BTreeMap<usize, usize>,
}

impl<'a> Graph<'a> {
    fn intern(&mut self, name: &'a str) -> usize {
        match self.by_name.entry(name) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                self.nodes.push(Node {
                    name,
                    edges: Vec::new(),
                });
                *e.insert(self.nodes.len() - 1)
            }
        }
    }

    fn add_root(&mut self, link: Link) {
        match self.root_index.entry(link.node) {
            Entry::Occupied(e) => self.roots[*e.get()].optional &= link.optional,
            Entry::Vacant(e) => {
                e.insert(self.roots.len());
                self.roots.push(link);
            }
        }
    }

    fn add_edge(&mut self, from: usize, link: Link) {
        let edges = &mut self.nodes[from].edges;
        match self.edge_index.entry((from, link.node)) {
            Entry::Occupied(e) => edges[*e.get()].optional &= link.optional,
            Entry::Vacant(e) => {
                e.insert(edges.len());
                edges.push(link);
            }
        }
    }

    /// Expands the node of `link` into an owned tree.
    fn build(&self, link: Link) -> Scope {
        let node = &self.nodes[link.node];
        Scope {
            name: Cow::Owned(node.name.to_owned()),
            optional: link.optional,
            dependencies: node.edges.iter().map(|&edge| self.build(edge)).collect(),
        }
    }

    /// Expands every top-level scope.
    pub(crate) fn into_scopes(self) -> Vec<Scope> {
        self.roots.iter().map(|&root| self.build(root)).collect()
    }

    /// Expands the single top-level scope, or says why there is not exactly one.
    pub(crate) fn into_scope(self) -> Result<Scope, ScopeParseError> {
        match self.roots.as_slice() {
            [] => Err(ScopeParseError::new(Kind::EmptyName, 0, "")),
            [root] => Ok(self.build(*root)),
            [_, second, ..] => Err(ScopeParseError::new(
                Kind::MultipleScopes,
                second.position,
                self.nodes[second.node].name,
            )),
        }
    }
}

/// What the scanner saw last.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// The start of the string or whitespace.
    Boundary,
    /// A `*`.
    Star,
    /// A `[`.
    Open,
    /// A `]`.
    Close,
    /// A scope name.
    Name,
}

/// An open `[` and the scope whose dependencies it lists.
struct Open {
    node: usize,
    position: usize,
    empty: bool,
}

fn is_special(c: char) -> bool {
    matches!(c, '[' | ']' | '*')
}

/// True for a character that may start or continue a scope name, as far as the
/// grammar goes (control characters are rejected separately, with their own
/// error).
fn is_name_char(c: char) -> bool {
    !c.is_whitespace() && !is_special(c)
}

/// The text at `at`: one character, or nothing at the end.
fn char_at(input: &str, at: usize) -> &str {
    let len = input[at..].chars().next().map_or(0, char::len_utf8);
    &input[at..at + len]
}

/// Scans, merges and checks `input`.
pub(crate) fn parse_graph(input: &str) -> Result<Graph<'_>, ScopeParseError> {
    let err = |kind, at: usize, len: usize| {
        ScopeParseError::new(kind, at, &input[at..(at + len).min(input.len())])
    };
    let mut graph = Graph::default();
    let mut open: Vec<Open> = Vec::new();
    let mut prev = Prev::Boundary;
    let mut last_name = 0;
    let mut optional = false;

    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if prev == Prev::Close && !c.is_whitespace() && c != ']' {
            // report at the ']' that lacks a separator; it is one byte long
            let end = at + c.len_utf8();
            return Err(ScopeParseError::new(
                Kind::MissingSeparator,
                at - 1,
                &input[at - 1..end],
            ));
        }
        match c {
            c if c.is_whitespace() => prev = Prev::Boundary,
            '*' => {
                let starts_name = matches!(chars.peek(), Some(&(_, next)) if is_name_char(next));
                if prev == Prev::Name || !starts_name {
                    let next_len = chars.peek().map_or(0, |&(_, next)| next.len_utf8());
                    return Err(err(Kind::MisplacedOptionalMarker, at, 1 + next_len));
                }
                optional = true;
                prev = Prev::Star;
            }
            '[' => {
                if prev != Prev::Name {
                    return Err(err(Kind::BracketWithoutScope, at, 1));
                }
                open.push(Open {
                    node: last_name,
                    position: at,
                    empty: true,
                });
                prev = Prev::Open;
            }
            ']' => {
                let Some(closed) = open.pop() else {
                    return Err(err(Kind::UnmatchedCloseBracket, at, 1));
                };
                if closed.empty {
                    return Err(ScopeParseError::new(
                        Kind::EmptyBrackets,
                        closed.position,
                        &input[closed.position..=at],
                    ));
                }
                prev = Prev::Close;
            }
            _ => {
                // a name: maximal run of name characters
                let mut end = at + c.len_utf8();
                let mut bad = is_forbidden(u32::from(c)).then_some(at);
                while let Some(&(next_at, next)) = chars.peek() {
                    if !is_name_char(next) {
                        break;
                    }
                    if bad.is_none() && is_forbidden(u32::from(next)) {
                        bad = Some(next_at);
                    }
                    end = next_at + next.len_utf8();
                    chars.next();
                }
                if let Some(bad) = bad {
                    return Err(ScopeParseError::new(
                        Kind::InvalidCharacter,
                        bad,
                        char_at(input, bad),
                    ));
                }
                let node = graph.intern(&input[at..end]);
                let link = Link {
                    node,
                    optional,
                    position: at,
                };
                match open.last_mut() {
                    Some(parent) => {
                        parent.empty = false;
                        let from = parent.node;
                        graph.add_edge(from, link);
                    }
                    None => graph.add_root(link),
                }
                optional = false;
                last_name = node;
                prev = Prev::Name;
            }
        }
    }
    if let Some(unclosed) = open.last() {
        return Err(err(Kind::UnclosedBracket, unclosed.position, 1));
    }

    check_shape(&graph)?;
    Ok(graph)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    OnPath,
    Done,
}

/// Rejects cycles, then trees deeper than [`MAX_DEPTH`] or larger than
/// [`MAX_SCOPES`] once expanded.
fn check_shape(graph: &Graph<'_>) -> Result<(), ScopeParseError> {
    let count = graph.nodes.len();
    let mut state = vec![Visit::New; count];
    let mut post_order = Vec::with_capacity(count);
    // (node, index of the next edge to follow)
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in &graph.roots {
        if state[root.node] != Visit::New {
            continue;
        }
        state[root.node] = Visit::OnPath;
        path.push((root.node, 0));
        while let Some((node, next_edge)) = path.last_mut() {
            let node = *node;
            match graph.nodes[node].edges.get(*next_edge) {
                Some(edge) => {
                    *next_edge += 1;
                    match state[edge.node] {
                        Visit::OnPath => {
                            return Err(ScopeParseError::new(
                                Kind::Cycle,
                                edge.position,
                                graph.nodes[edge.node].name,
                            ));
                        }
                        Visit::New => {
                            state[edge.node] = Visit::OnPath;
                            path.push((edge.node, 0));
                        }
                        Visit::Done => {}
                    }
                }
                None => {
                    state[node] = Visit::Done;
                    post_order.push(node);
                    path.pop();
                }
            }
        }
    }

    // children come before parents in post-order
    let mut depth = vec![0_usize; count];
    let mut size = vec![0_usize; count];
    for &node in &post_order {
        let (mut d, mut s) = (0_usize, 1_usize);
        for edge in &graph.nodes[node].edges {
            d = d.max(depth[edge.node]);
            s = s.saturating_add(size[edge.node]);
        }
        depth[node] = d + 1;
        size[node] = s;
    }
    let mut total = 0_usize;
    for root in &graph.roots {
        let name = graph.nodes[root.node].name;
        if depth[root.node] > MAX_DEPTH {
            return Err(ScopeParseError::new(Kind::TooDeep, root.position, name));
        }
        total = total.saturating_add(size[root.node]);
        if total > MAX_SCOPES {
            return Err(ScopeParseError::new(Kind::TooLarge, root.position, name));
        }
    }
    Ok(())
}
