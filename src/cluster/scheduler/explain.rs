//! The record of one scheduling attempt for `kubesim explain`: each evaluated node's filter
//! verdict, each score plugin's raw, normalized and weighted score, the total and the chosen
//! node. Produced by the scheduler for the pod asked about; printed by the CLI.

use crate::engine::SimTime;

/// One plugin's scores for one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginScore {
    /// Plugin name.
    pub plugin: String,
    /// Score returned by Score.
    pub raw: i64,
    /// After NormalizeScore.
    pub normalized: i64,
    /// Normalized times the plugin's weight.
    pub weighted: i64,
}

/// One node's verdict in an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeVerdict {
    /// Node name.
    pub node: String,
    /// Passed every filter.
    pub feasible: bool,
    /// Filter reasons when not feasible (upstream wording), with the plugin first.
    pub reasons: Vec<String>,
    /// Scores (feasible nodes only; empty when a single node was feasible and scoring was
    /// skipped, as upstream).
    pub scores: Vec<PluginScore>,
    /// Sum of the weighted scores.
    pub total: i64,
}

/// One scheduling attempt of one pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// `namespace/name`.
    pub pod: String,
    /// When the attempt ran.
    pub at: SimTime,
    /// Chosen node, if any.
    pub selected: Option<String>,
    /// Nodes the attempt evaluated, in evaluation order (percentageOfNodesToScore may stop
    /// the filter pass before every node is seen).
    pub nodes: Vec<NodeVerdict>,
    /// The FailedScheduling message when no node fit.
    pub message: Option<String>,
}
