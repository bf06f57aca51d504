//! Signal provenance: a signal found by its signal_id, its ancestors (its parent_signal_ids,
//! transitively) and its descendants (the signals naming it as a parent, transitively), as trees.
//!
//! Lookups go through each segment's id table and parent table ([`SegmentIndex::ids`],
//! [`SegmentIndex::parents`]) and every candidate is decoded and checked, so a lying index can
//! hide a link but never invent one. Parent ids are free text from producers: a parent may be
//! missing from the ledger, links may form cycles, and one signal may be reached along several
//! paths. A tree therefore expands each signal once (later meetings are marked
//! [`LineageNode::expanded_above`]) and stops at a depth and a node budget.

use std::collections::HashSet;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use signal_ledger_engine::index::SegmentIndex;
use signal_ledger_engine::SignalRecord;

use crate::catalog::Catalog;
use crate::error::Result;

/// The deepest a lineage tree goes, whatever is asked: trees are nested values, walked and
/// dropped recursively.
pub const LINEAGE_DEPTH_MAX: usize = 1_000;

/// How far a lineage reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineageLimits {
    /// Levels below the signal in each tree (1: its parents or children only); at most
    /// [`LINEAGE_DEPTH_MAX`].
    pub max_depth: usize,
    /// Nodes in each tree at most; a tree that would hold more is cut ([`Tree::truncated`]).
    pub max_nodes: usize,
}

impl Default for LineageLimits {
    fn default() -> Self {
        LineageLimits {
            max_depth: 64,
            max_nodes: 10_000,
        }
    }
}

/// One signal in a lineage tree.
#[derive(Debug, Clone, PartialEq)]
pub struct LineageNode {
    /// The id this node is for.
    pub signal_id: String,
    /// The signal, or None when an id named as a parent is not in the ledger.
    pub record: Option<SignalRecord>,
    /// The next level: parents in an ancestor tree, children in a descendant tree (children in
    /// ledger order).
    pub links: Vec<LineageNode>,
    /// The signal was expanded elsewhere in this tree already (a diamond or a cycle): its
    /// links are shown there, not again here.
    pub expanded_above: bool,
}

/// One direction of a lineage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    /// The first level (parents or children of the signal), each with its own subtree.
    pub nodes: Vec<LineageNode>,
    /// Nodes in the tree.
    pub node_count: usize,
    /// Whether the depth or node limit cut the tree.
    pub truncated: bool,
}

/// A signal with its ancestors and descendants.
#[derive(Debug, Clone, PartialEq)]
pub struct Lineage {
    /// The signal asked about.
    pub signal: SignalRecord,
    /// Its parents, each with its parents, transitively.
    pub ancestors: Tree,
    /// The signals naming it as a parent, each with theirs, transitively.
    pub descendants: Tree,
}

impl Lineage {
    /// The lineage as one JSON object on one line: its `Serialize` form. Fails only for a
    /// record whose stored payload_json is not JSON, naming its seq.
    pub fn to_json(&self) -> std::result::Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// `{"signal": record, "ancestors": tree, "descendants": tree}`: the form `signal-ledger
/// lineage --format json` prints and GET /v1/lineage/{id} answers. A tree is
/// `{"node_count", "truncated", "nodes": [node]}` and a node `{"signal_id", "found",
/// "expanded_above", "record": record or null, "links": [node]}` (links: parents among
/// ancestors, children among descendants). Records are in their JSON form (the export's).
impl Serialize for Lineage {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Lineage", 3)?;
        o.serialize_field("signal", &self.signal)?;
        o.serialize_field("ancestors", &self.ancestors)?;
        o.serialize_field("descendants", &self.descendants)?;
        o.end()
    }
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Tree", 3)?;
        o.serialize_field("node_count", &self.node_count)?;
        o.serialize_field("truncated", &self.truncated)?;
        o.serialize_field("nodes", &self.nodes)?;
        o.end()
    }
}

/// A node and its links, at most [`LINEAGE_DEPTH_MAX`] deep.
impl Serialize for LineageNode {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("LineageNode", 5)?;
        o.serialize_field("signal_id", &self.signal_id)?;
        o.serialize_field("found", &self.record.is_some())?;
        o.serialize_field("expanded_above", &self.expanded_above)?;
        o.serialize_field("record", &self.record)?;
        o.serialize_field("links", &self.links)?;
        o.end()
    }
}

/// Which way a tree grows.
#[derive(Clone, Copy)]
enum Direction {
    Ancestors,
    Descendants,
}

impl Catalog {
    /// The signal whose signal_id is `id`, if the ledger holds it.
    pub fn find_signal(&self, id: &str) -> Result<Option<SignalRecord>> {
        for (segment, index) in self.indexes()?.into_iter().enumerate() {
            for row in index.rows_with_id_hash(id) {
                if let Some(record) = self.record_of_row(segment, index, row)? {
                    if record.signal.signal_id == id {
                        return Ok(Some(record));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The signals naming `id` among their parent_signal_ids, in ledger order.
    pub fn children_of(&self, id: &str) -> Result<Vec<SignalRecord>> {
        let mut children = Vec::new();
        for (segment, index) in self.indexes()?.into_iter().enumerate() {
            for row in index.rows_with_parent_hash(id) {
                if let Some(record) = self.record_of_row(segment, index, row)? {
                    if record.signal.parent_signal_ids.iter().any(|p| p == id) {
                        children.push(record);
                    }
                }
            }
        }
        Ok(children)
    }

    /// The lineage of the signal with signal_id `id`, or None if the ledger does not hold it.
    pub fn lineage(&self, id: &str, limits: LineageLimits) -> Result<Option<Lineage>> {
        let limits = LineageLimits {
            max_depth: limits.max_depth.min(LINEAGE_DEPTH_MAX),
            ..limits
        };
        let Some(signal) = self.find_signal(id)? else {
            return Ok(None);
        };
        let ancestors = self.tree(&signal, Direction::Ancestors, limits)?;
        let descendants = self.tree(&signal, Direction::Descendants, limits)?;
        Ok(Some(Lineage {
            signal,
            ancestors,
            descendants,
        }))
    }

    /// The tree of `root`'s links in `direction`, built breadth-first so the budget keeps the
    /// nearest levels whole.
    fn tree(
        &self,
        root: &SignalRecord,
        direction: Direction,
        limits: LineageLimits,
    ) -> Result<Tree> {
        // Nodes in breadth-first order; each knows its parent node, and links are attached
        // bottom-up at the end.
        struct Flat {
            node: LineageNode,
            up: Option<usize>,
        }
        let mut flat: Vec<Flat> = Vec::new();
        let mut expanded: HashSet<String> = HashSet::from([root.signal.signal_id.clone()]);
        let mut truncated = false;
        let mut level: Vec<(Option<usize>, SignalRecord)> = vec![(None, root.clone())];
        for depth in 0.. {
            let mut next = Vec::new();
            'level: for (up, record) in level {
                let links = self.links(&record, direction)?;
                if depth == limits.max_depth {
                    truncated |= !links.is_empty();
                    continue;
                }
                for (signal_id, found) in links {
                    if flat.len() == limits.max_nodes {
                        truncated = true;
                        break 'level;
                    }
                    let expanded_above = found.is_some() && !expanded.insert(signal_id.clone());
                    let at = flat.len();
                    if let (false, Some(found)) = (expanded_above, &found) {
                        next.push((Some(at), found.clone()));
                    }
                    flat.push(Flat {
                        node: LineageNode {
                            signal_id,
                            record: found,
                            links: Vec::new(),
                            expanded_above,
                        },
                        up,
                    });
                }
            }
            if next.is_empty() || truncated {
                break;
            }
            level = next;
        }
        let node_count = flat.len();
        let mut nodes = Vec::new();
        // A node's links come after it in `flat`: taken from the end, each node is complete
        // (its links were attached, in reverse) when it is reached.
        while let Some(Flat { mut node, up }) = flat.pop() {
            node.links.reverse();
            match up.and_then(|i| flat.get_mut(i)) {
                Some(parent) => parent.node.links.push(node),
                None => nodes.push(node),
            }
        }
        nodes.reverse();
        Ok(Tree {
            nodes,
            node_count,
            truncated,
        })
    }

    /// The links of `record` one step in `direction`: (id, the record if held).
    fn links(
        &self,
        record: &SignalRecord,
        direction: Direction,
    ) -> Result<Vec<(String, Option<SignalRecord>)>> {
        match direction {
            Direction::Ancestors => record
                .signal
                .parent_signal_ids
                .iter()
                .map(|p| Ok((p.clone(), self.find_signal(p)?)))
                .collect(),
            Direction::Descendants => Ok(self
                .children_of(&record.signal.signal_id)?
                .into_iter()
                .map(|c| (c.signal.signal_id.clone(), Some(c)))
                .collect()),
        }
    }

    /// The record at `row` of segment `segment`'s index, if a whole frame of that seq is where
    /// the index says.
    fn record_of_row(
        &self,
        segment: usize,
        index: &SegmentIndex,
        row: u32,
    ) -> Result<Option<SignalRecord>> {
        let Some(&offset) = index.offsets.get(row as usize) else {
            return Ok(None);
        };
        let seq = index.first_seq + u64::from(row);
        let Some(mut record) = self.snapshot().record_at(segment, offset as usize, seq)? else {
            return Ok(None);
        };
        self.apply_outcome(&mut record)?;
        Ok(Some(record))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use signal_ledger_engine::{Direction as Dir, Ledger, PersistenceConfig, Signal, SignalType};

    fn signal(id: &str, parents: &[&str]) -> Signal {
        Signal {
            signal_id: id.to_owned(),
            source_module: "fusion".to_owned(),
            source_version: None,
            ticker: "AAPL".to_owned(),
            direction: Dir::Long,
            conviction: 0.5,
            signal_type: SignalType::Entry,
            timeframe: None,
            price: None,
            timestamp_ns: 1_700_000_000_000_000_000,
            expires_at_ns: None,
            strategy_id: None,
            correlation_id: None,
            parent_signal_ids: parents.iter().map(|p| (*p).to_owned()).collect(),
            acted_upon: None,
            execution_id: None,
            payload_json: "null".to_owned(),
        }
    }

    /// a → b, c (children); b, c → d (a diamond); d → e; e names "a" too (a cycle back);
    /// b also names "ghost", which is not in the ledger. Small segments, so links cross them.
    fn ledger() -> (tempfile::TempDir, Catalog) {
        let tmp = tempfile::tempdir().unwrap();
        let config = PersistenceConfig {
            segment_size_bytes: 4096,
            ..PersistenceConfig::default()
        };
        let mut ledger = Ledger::create(tmp.path(), config).unwrap();
        for s in [
            signal("a", &[]),
            signal("b", &["a", "ghost"]),
            signal("c", &["a"]),
            signal("d", &["b", "c"]),
            signal("e", &["d", "a"]),
        ] {
            ledger.append(&[s]).unwrap();
            // Unrelated traffic between them, so the five land in different segments.
            let noise: Vec<Signal> = (0..30).map(|_| signal("", &[])).collect();
            ledger.append(&noise).unwrap();
        }
        drop(ledger);
        let catalog = Catalog::open(tmp.path()).unwrap();
        assert!(catalog.indexes().unwrap().len() > 3, "links cross segments");
        (tmp, catalog)
    }

    fn ids(nodes: &[LineageNode]) -> Vec<&str> {
        nodes.iter().map(|n| n.signal_id.as_str()).collect()
    }

    #[test]
    fn ancestors_follow_parents_through_a_diamond_to_missing_ids() {
        let (_tmp, catalog) = ledger();
        let l = catalog
            .lineage("d", LineageLimits::default())
            .unwrap()
            .unwrap();
        assert_eq!(l.signal.signal.signal_id, "d");
        let top = &l.ancestors.nodes;
        assert_eq!(ids(top), ["b", "c"]);
        assert_eq!(ids(&top[0].links), ["a", "ghost"]);
        assert!(
            top[0].links[1].record.is_none(),
            "ghost is not in the ledger"
        );
        // c's parent a was expanded under b already.
        assert_eq!(ids(&top[1].links), ["a"]);
        assert!(top[1].links[0].expanded_above);
        assert_eq!(l.ancestors.node_count, 5);
        assert!(!l.ancestors.truncated);
    }

    #[test]
    fn descendants_follow_children_and_stop_at_a_cycle() {
        let (_tmp, catalog) = ledger();
        let l = catalog
            .lineage("a", LineageLimits::default())
            .unwrap()
            .unwrap();
        let top = &l.descendants.nodes;
        assert_eq!(ids(top), ["b", "c", "e"], "children in ledger order");
        assert_eq!(ids(&top[0].links), ["d"]);
        assert_eq!(ids(&top[1].links), ["d"]);
        assert!(top[1].links[0].expanded_above, "d is shown under b");
        // e is a's child directly, so d's child e is not expanded again.
        assert_eq!(ids(&top[0].links[0].links), ["e"]);
        assert!(top[0].links[0].links[0].expanded_above);
        assert!(top[2].links.is_empty());
        assert!(l.ancestors.nodes.is_empty());
        // The cycle e → a stops at a: the root counts as expanded.
        let e = catalog
            .lineage("e", LineageLimits::default())
            .unwrap()
            .unwrap();
        let a = e
            .ancestors
            .nodes
            .iter()
            .find(|n| n.signal_id == "a")
            .unwrap();
        assert!(a.links.is_empty());
    }

    #[test]
    fn limits_cut_the_tree_and_say_so() {
        let (_tmp, catalog) = ledger();
        let shallow = LineageLimits {
            max_depth: 1,
            max_nodes: 100,
        };
        let l = catalog.lineage("d", shallow).unwrap().unwrap();
        assert_eq!(ids(&l.ancestors.nodes), ["b", "c"]);
        assert!(l.ancestors.nodes.iter().all(|n| n.links.is_empty()));
        assert!(l.ancestors.truncated);
        let small = LineageLimits {
            max_depth: 64,
            max_nodes: 3,
        };
        let l = catalog.lineage("a", small).unwrap().unwrap();
        assert_eq!(l.descendants.node_count, 3);
        assert!(l.descendants.truncated);
        assert!(catalog.lineage("zzz", shallow).unwrap().is_none());
    }

    fn record_value(record: &SignalRecord) -> serde_json::Value {
        serde_json::to_value(record).unwrap()
    }

    fn keys(v: &serde_json::Value) -> Vec<&str> {
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn json_has_the_signal_and_both_trees_node_by_node() {
        let (_tmp, catalog) = ledger();
        let l = catalog
            .lineage("d", LineageLimits::default())
            .unwrap()
            .unwrap();
        let text = l.to_json().unwrap();
        assert!(!text.contains('\n'), "{text}");
        assert!(text.starts_with("{\"signal\":"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(keys(&v), ["ancestors", "descendants", "signal"]);
        assert_eq!(v["signal"], record_value(&l.signal));
        let ancestors = &v["ancestors"];
        assert_eq!(keys(ancestors), ["node_count", "nodes", "truncated"]);
        assert_eq!(ancestors["node_count"], 5);
        assert_eq!(ancestors["truncated"], false);
        assert_eq!(
            v["descendants"],
            serde_json::json!({"node_count": 1, "truncated": false, "nodes": [{
                "signal_id": "e",
                "found": true,
                "expanded_above": false,
                "record": record_value(l.descendants.nodes[0].record.as_ref().unwrap()),
                "links": [],
            }]})
        );
        let b = &ancestors["nodes"][0];
        assert_eq!(
            keys(b),
            ["expanded_above", "found", "links", "record", "signal_id"]
        );
        assert_eq!(
            (&b["signal_id"], &b["found"], &b["expanded_above"]),
            (&"b".into(), &true.into(), &false.into())
        );
        assert_eq!(
            b["record"],
            record_value(l.ancestors.nodes[0].record.as_ref().unwrap())
        );
        let ghost = &b["links"][1];
        assert_eq!(
            *ghost,
            serde_json::json!({
                "signal_id": "ghost",
                "found": false,
                "expanded_above": false,
                "record": null,
                "links": [],
            })
        );
        // c's parent a, met again: found, marked, its links not repeated.
        let a_again = &ancestors["nodes"][1]["links"][0];
        assert_eq!(
            (&a_again["signal_id"], &a_again["expanded_above"]),
            (&"a".into(), &true.into())
        );
        assert_eq!(a_again["links"], serde_json::json!([]));
    }

    #[test]
    fn json_of_a_cut_tree_says_truncated_and_escapes_ids() {
        let (_tmp, catalog) = ledger();
        let signal = catalog.find_signal("a").unwrap().unwrap();
        let odd = "quote \" back \\ line\n";
        let l = Lineage {
            signal,
            ancestors: Tree {
                nodes: vec![LineageNode {
                    signal_id: odd.to_owned(),
                    record: None,
                    links: Vec::new(),
                    expanded_above: false,
                }],
                node_count: 1,
                truncated: true,
            },
            descendants: Tree::default(),
        };
        let v: serde_json::Value = serde_json::from_str(&l.to_json().unwrap()).unwrap();
        assert_eq!(v["ancestors"]["truncated"], true);
        assert_eq!(v["ancestors"]["nodes"][0]["signal_id"], odd);
        assert_eq!(
            v["descendants"],
            serde_json::json!({"node_count": 0, "truncated": false, "nodes": []})
        );
    }

    #[test]
    fn a_parent_hash_match_with_another_id_is_not_a_link() {
        let (_tmp, catalog) = ledger();
        assert!(catalog.children_of("ghost2").unwrap().is_empty());
        assert_eq!(
            catalog
                .children_of("ghost")
                .unwrap()
                .iter()
                .map(|r| r.signal.signal_id.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(
            catalog.find_signal("c").unwrap().unwrap().signal.signal_id,
            "c"
        );
    }
}
