//! `PrefixSet`: the prefixes one peer owns, without a heap allocation for the common case of a single prefix
//! (a gateway's peers mostly have one /32 or /128 each).

use std::collections::HashSet;

use crate::prefix::Prefix;

/// A set of prefixes: none, one kept inline, or a hash set once there are two or more.
#[derive(Debug, Default)]
pub(crate) enum PrefixSet {
    #[default]
    Empty,
    One(Prefix),
    Many(HashSet<Prefix>),
}

impl PrefixSet {
    /// Adds `prefix` (a no-op when present).
    pub(crate) fn insert(&mut self, prefix: Prefix) {
        match self {
            Self::Empty => *self = Self::One(prefix),
            Self::One(one) if *one == prefix => {}
            Self::One(one) => {
                let first = *one;
                *self = Self::Many(HashSet::from([first, prefix]));
            }
            Self::Many(set) => {
                set.insert(prefix);
            }
        }
    }

    /// Removes `prefix` if present.
    pub(crate) fn remove(&mut self, prefix: &Prefix) {
        match self {
            Self::One(one) if one == prefix => *self = Self::Empty,
            Self::Many(set) => {
                set.remove(prefix);
                if set.len() == 1 {
                    if let Some(&last) = set.iter().next() {
                        *self = Self::One(last);
                    }
                } else if set.is_empty() {
                    *self = Self::Empty;
                }
            }
            _ => {}
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// The prefixes, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Prefix> {
        let (one, many) = match self {
            Self::Empty => (None, None),
            Self::One(p) => (Some(p), None),
            Self::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Heap bytes held (none for zero or one prefix).
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::Many(set) => set.capacity() * (std::mem::size_of::<Prefix>() + 1),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    #[test]
    fn grows_and_shrinks_through_every_form() {
        let mut set = PrefixSet::default();
        assert!(set.is_empty());
        set.insert(p("10.0.0.1/32"));
        set.insert(p("10.0.0.1/32"));
        assert!(matches!(set, PrefixSet::One(_)));
        assert_eq!(set.heap_bytes(), 0);
        set.insert(p("10.0.0.2/32"));
        set.insert(p("fd00::/8"));
        assert_eq!(set.iter().count(), 3);
        set.remove(&p("10.0.0.2/32"));
        set.remove(&p("192.0.2.0/24"));
        assert_eq!(set.iter().count(), 2);
        set.remove(&p("10.0.0.1/32"));
        assert!(matches!(set, PrefixSet::One(x) if x == p("fd00::/8")));
        set.remove(&p("fd00::/8"));
        assert!(set.is_empty());
        assert_eq!(set.iter().count(), 0);
    }
}
