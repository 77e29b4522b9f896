//! The remote probe's wire format: what `halab __get` and `halab __probe` print on a client
//! host (one JSON line each) and the ssh provider reads back.

use serde::{Deserialize, Serialize};

use super::http::Reply;

#[derive(Debug, Serialize, Deserialize)]
pub struct WireSample {
    pub t: u64,
    pub took: u32,
    pub backend: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WireReply {
    pub status: u16,
    pub served_by: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl From<WireReply> for Reply {
    fn from(w: WireReply) -> Reply {
        Reply {
            status: w.status,
            served_by: w.served_by,
            headers: w.headers,
            body: w.body,
        }
    }
}
