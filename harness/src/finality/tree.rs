//! The aggregation tree of a CoSi round: participants in heap order, `fanout` children per node,
//! the leader at position 0. A star is the same with `fanout = participants − 1`.

use super::messages::NodeId;

/// A round's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    pub nodes: Vec<NodeId>,
    pub fanout: usize,
}

impl Tree {
    pub fn new(nodes: Vec<NodeId>, fanout: usize) -> Tree {
        Tree {
            nodes,
            fanout: fanout.max(1),
        }
    }

    pub fn position(&self, node: NodeId) -> Option<usize> {
        self.nodes.iter().position(|&n| n == node)
    }

    /// Positions of the children of position `p`.
    pub fn child_positions(&self, p: usize) -> std::ops::Range<usize> {
        let first = p.saturating_mul(self.fanout).saturating_add(1);
        let end = first.saturating_add(self.fanout).min(self.nodes.len());
        first.min(end)..end
    }

    pub fn children(&self, node: NodeId) -> Vec<NodeId> {
        self.position(node)
            .map(|p| self.child_positions(p).map(|c| self.nodes[c]).collect())
            .unwrap_or_default()
    }

    pub fn parent(&self, node: NodeId) -> Option<NodeId> {
        match self.position(node)? {
            0 => None,
            p => Some(self.nodes[(p - 1) / self.fanout]),
        }
    }

    /// Every node in `node`'s subtree, itself included.
    pub fn subtree(&self, node: NodeId) -> Vec<NodeId> {
        let Some(p) = self.position(node) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut stack = vec![p];
        while let Some(q) = stack.pop() {
            out.push(self.nodes[q]);
            stack.extend(self.child_positions(q));
        }
        out
    }

    /// Levels below `node` (0 for a leaf).
    pub fn levels_below(&self, node: NodeId) -> u64 {
        let Some(mut p) = self.position(node) else {
            return 0;
        };
        let mut levels = 0;
        loop {
            let kids = self.child_positions(p);
            if kids.is_empty() {
                return levels;
            }
            // Heap order fills levels left to right: the first child's subtree is the deepest.
            p = kids.start;
            levels += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_of_a_binary_tree_of_seven() {
        let t = Tree::new(vec![3, 4, 5, 6, 0, 1, 2], 2);
        assert_eq!(t.children(3), vec![4, 5]);
        assert_eq!(t.children(4), vec![6, 0]);
        assert_eq!(t.parent(0), Some(4));
        assert_eq!(t.parent(3), None);
        let mut sub = t.subtree(4);
        sub.sort_unstable();
        assert_eq!(sub, vec![0, 4, 6]);
        assert_eq!(t.levels_below(3), 2);
        assert_eq!(t.levels_below(4), 1);
        assert_eq!(t.levels_below(2), 0);
        let star = Tree::new(vec![0, 1, 2, 3], 3);
        assert_eq!(star.children(0), vec![1, 2, 3]);
        assert_eq!(star.levels_below(0), 1);
    }
}
