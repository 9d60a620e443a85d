//! A router from REST requests to whatever the caller filed each template under (a method, an index).
//!
//! Templates are filed by HTTP verb and first literal segment, so a request looks at the few templates that can
//! match it, not at every method; templates starting with a variable or wildcard are tried for every path of
//! their verb. Where several match, the most specific wins ([`Specificity`]), then the one added first.

use std::collections::HashMap;

use super::template::{Specificity, Template};

/// Templates by verb and first literal segment.
#[derive(Debug, Clone)]
pub struct Router<T> {
    verbs: HashMap<String, Bucket>,
    entries: Vec<(Template, T)>,
}

#[derive(Debug, Clone, Default)]
struct Bucket {
    by_first: HashMap<String, Vec<usize>>,
    others: Vec<usize>,
}

/// A request resolved: what its template was filed under, and the bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'r, T> {
    pub target: &'r T,
    pub template: &'r Template,
    /// `(field path, percent-decoded value)` per variable, in template order.
    pub bindings: Vec<(&'r str, String)>,
}

impl<T> Default for Router<T> {
    fn default() -> Router<T> {
        Router {
            verbs: HashMap::new(),
            entries: Vec::new(),
        }
    }
}

impl<T> Router<T> {
    pub fn new() -> Router<T> {
        Router::default()
    }

    /// Files `template` under `verb` (any case; `GET`, `POST`, or a custom kind).
    pub fn add(&mut self, verb: &str, template: Template, target: T) {
        let index = self.entries.len();
        let bucket = self.verbs.entry(verb.to_ascii_uppercase()).or_default();
        match template.first_literal() {
            Some(first) => bucket
                .by_first
                .entry(first.to_owned())
                .or_default()
                .push(index),
            None => bucket.others.push(index),
        }
        self.entries.push((template, target));
    }

    /// Every template with its target, in the order added.
    pub fn entries(&self) -> impl Iterator<Item = (&Template, &T)> {
        self.entries
            .iter()
            .map(|(template, target)| (template, target))
    }

    /// The most specific template matching `verb path`; `path` is as sent (percent-encoded), without the query.
    pub fn route(&self, verb: &str, path: &str) -> Option<Route<'_, T>> {
        let bucket = match self.verbs.get(verb) {
            Some(bucket) => bucket,
            None => self.verbs.get(verb.to_ascii_uppercase().as_str())?,
        };
        let first = path
            .strip_prefix('/')?
            .split('/')
            .next()
            .unwrap_or_default();
        // A one-segment template with a verb (`/images:latest`) is filed under `images`.
        let before_verb = first.rsplit_once(':').map(|(head, _)| head);
        let candidates = [Some(first), before_verb]
            .into_iter()
            .flatten()
            .filter_map(|key| bucket.by_first.get(key))
            .flatten()
            .chain(&bucket.others);
        let mut best: Option<(Specificity, usize, Route<'_, T>)> = None;
        for &index in candidates {
            let (template, target) = &self.entries[index];
            let specificity = template.specificity();
            if best.as_ref().is_some_and(|(s, i, _)| {
                (*s, std::cmp::Reverse(*i)) >= (specificity, std::cmp::Reverse(index))
            }) {
                continue;
            }
            if let Some(bindings) = template.matches(path) {
                let route = Route {
                    target,
                    template,
                    bindings,
                };
                best = Some((specificity, index, route));
            }
        }
        best.map(|(_, _, route)| route)
    }
}
