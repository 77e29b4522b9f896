//! One host on its way through `up`: its connection, facts, files and staging dir.

use std::sync::Arc;

use super::connection::Conn;
use super::facts::Facts;
use super::items::Item;
use crate::lab::model::Node;

/// One host through `up`, up to the point where its new files wait in the staging dir.
pub(super) struct Host {
    pub(super) node: Node,
    pub(super) conn: Arc<Conn>,
    pub(super) facts: Facts,
    pub(super) items: Vec<Item>,
    /// Indices of `items` that differ from the host's file.
    pub(super) changed: Vec<usize>,
    pub(super) stage: String,
    pub(super) installed: Vec<String>,
    pub(super) bar: indicatif::ProgressBar,
}

impl Host {
    pub(super) fn say(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }
}
