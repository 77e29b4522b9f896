//! Where everything goes on the timeline picture, in pixels, before anything is drawn: the
//! height depends on the lanes and on how many rows the mark labels need.

use std::net::IpAddr;

use plotters::style::RGBColor;

use crate::report::timeline::{self, VipMove};
use crate::scenario::result::ScenarioResult;

pub const WIDTH: i32 = 1200;
/// The lane names' column.
pub const LEFT: i32 = 150;
pub const RIGHT: i32 = 30;
pub const TITLE_H: i32 = 50;
pub const FONT: &str = "sans-serif";
/// Label text size; [`text_w`] assumes DejaVu Sans-like widths (the widest common default).
pub const LABEL_PX: f64 = 11.0;

const FAULT_ROW: i32 = 15;
const MOVE_ROW: i32 = 14;
const CAPTION: i32 = 18;
pub const VIP_ROW: i32 = 22;
pub const REQ_ROW: i32 = 13;
pub const AXIS_H: i32 = 42;
const LEGEND_ROW: i32 = 20;
/// Beyond this many rows, labels overlap rather than push the chart off the page.
const MAX_LABEL_ROWS: usize = 6;

pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const PURPLE: RGBColor = RGBColor(106, 61, 154);
pub const GREY: RGBColor = RGBColor(110, 110, 110);
pub const ARP: RGBColor = RGBColor(40, 40, 40);
/// Backend colours: no reds (failures) and no pure green (repairs, passed assertions).
/// (Okabe-Ito, which stays apart for colour-blind readers, then Tableau's.)
const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(0, 158, 115),
    RGBColor(240, 228, 66),
    RGBColor(156, 117, 95),
    RGBColor(57, 59, 121),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const VIP_COLORS: [RGBColor; 3] = [
    RGBColor(52, 73, 94),
    RGBColor(93, 109, 126),
    RGBColor(133, 146, 158),
];

/// A label placed in a band of rows: `row` 0 is nearest the chart.
#[derive(Debug, Clone, Copy)]
pub struct Placed {
    pub row: usize,
    /// The text sits left of the line (it would run off the right edge otherwise).
    pub end_anchor: bool,
}

#[derive(Debug, Clone)]
pub enum LaneKind {
    Vip {
        vip: IpAddr,
        node: String,
        color: RGBColor,
    },
    /// Requests (through `vip` when the run probed several VIPs) answered by `name`.
    Backend {
        name: String,
        color: RGBColor,
        vip: Option<IpAddr>,
    },
    Failed(Option<IpAddr>),
    Unknown(Option<IpAddr>),
    /// Assertion steps, overlapping ones on separate rows: (index into `steps`, row).
    Steps(Vec<(usize, usize)>),
}

#[derive(Debug, Clone)]
pub struct Lane {
    /// Pixels below the chart's top, and height.
    pub top: i32,
    pub h: i32,
    pub label: String,
    pub kind: LaneKind,
}

pub struct Plan {
    pub end_ms: u64,
    pub fault_labels: Vec<Placed>,
    pub moves: Vec<VipMove>,
    pub move_labels: Vec<Placed>,
    pub lanes: Vec<Lane>,
    /// (pixels below the chart's top, text): the group headings.
    pub captions: Vec<(i32, &'static str)>,
    /// Chart top in the picture, and the chart's height.
    pub plot_top: i32,
    pub plot_h: i32,
    /// VIP lanes' extent below the chart top, and the move labels' band top.
    pub vip_band: (i32, i32),
    pub move_band_top: i32,
    pub legend_top: i32,
    pub height: i32,
    pub backends: Vec<(String, RGBColor)>,
    pub vip_colors: Vec<(IpAddr, RGBColor)>,
}

/// Estimated width of `s` at `px`: SVG gives no metrics, so this leans wide.
pub fn text_w(s: &str, px: f64) -> i32 {
    (s.chars().count() as f64 * px * 0.62).ceil() as i32
}

impl Plan {
    pub fn new(r: &ScenarioResult) -> Plan {
        let end_ms = timeline::end_ms(r);
        let x_of =
            |t: u64| LEFT + ((t as f64 / end_ms as f64) * f64::from(WIDTH - LEFT - RIGHT)) as i32;
        let fault_labels = stack(
            r.faults
                .iter()
                .map(|f| (x_of(f.t_ms), text_w(&label_text(&f.description), LABEL_PX))),
        );
        let fault_rows = rows(&fault_labels);
        let moves = timeline::vip_moves(&r.vip_timeline);
        let many_vips = timeline::vips(&r.vip_timeline).len() > 1;
        let move_labels = stack(
            moves
                .iter()
                .map(|m| (x_of(m.t_ms), text_w(&move_text(m, many_vips), LABEL_PX))),
        );
        let backends = backend_colors(&timeline::backends(&r.samples));
        let vip_colors: Vec<(IpAddr, RGBColor)> = timeline::vips(&r.vip_timeline)
            .into_iter()
            .enumerate()
            .map(|(i, v)| (v, VIP_COLORS[i % VIP_COLORS.len()]))
            .collect();

        let mut lanes = Vec::new();
        let mut captions = Vec::new();
        let mut y = 0;
        captions.push((
            y,
            "VIP held by (thin dark bar: the client's ARP entry points here)",
        ));
        y += CAPTION;
        let vip_start = y;
        for node in timeline::lb_nodes(&r.vip_timeline) {
            for &(vip, color) in &vip_colors {
                let label = if many_vips {
                    format!("{node} {vip}")
                } else {
                    node.clone()
                };
                lanes.push(Lane {
                    top: y,
                    h: VIP_ROW,
                    label,
                    kind: LaneKind::Vip {
                        vip,
                        node: node.clone(),
                        color,
                    },
                });
                y += VIP_ROW;
            }
        }
        let vip_band = (vip_start, y);
        let move_band_top = y;
        y += rows(&move_labels) as i32 * MOVE_ROW + 6;
        captions.push((y, "Requests through the VIP, by the backend that answered"));
        y += CAPTION;
        // One group of request lanes per probed VIP, each lane named with its VIP, when the
        // run probed several (active/active); else one group, as before.
        let req_vips = timeline::request_vips(&r.samples);
        let groups: Vec<Option<IpAddr>> = if req_vips.len() > 1 {
            req_vips.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        for vip in groups {
            let name_of = |what: &str| match vip {
                Some(v) => format!("{v} {what}"),
                None => what.to_string(),
            };
            let samples: Vec<_> = r
                .samples
                .iter()
                .filter(|s| vip.is_none() || s.vip == vip)
                .cloned()
                .collect();
            let present = timeline::backends(&samples);
            for (name, color) in backends.iter().filter(|(n, _)| present.contains(n)) {
                lanes.push(Lane {
                    top: y,
                    h: REQ_ROW,
                    label: name_of(name),
                    kind: LaneKind::Backend {
                        name: name.clone(),
                        color: *color,
                        vip,
                    },
                });
                y += REQ_ROW;
            }
            if samples
                .iter()
                .any(|s| timeline::answer(s) == timeline::Answer::Unknown)
            {
                lanes.push(Lane {
                    top: y,
                    h: REQ_ROW,
                    label: name_of("no X-Served-By"),
                    kind: LaneKind::Unknown(vip),
                });
                y += REQ_ROW;
            }
            lanes.push(Lane {
                top: y,
                h: REQ_ROW,
                label: name_of("failed"),
                kind: LaneKind::Failed(vip),
            });
            y += REQ_ROW;
        }
        y += 10;
        let steps = step_rows(r, end_ms);
        let h = REQ_ROW
            * steps
                .iter()
                .map(|&(_, row)| row as i32 + 1)
                .max()
                .unwrap_or(1);
        lanes.push(Lane {
            top: y,
            h,
            label: "assertions".into(),
            kind: LaneKind::Steps(steps),
        });
        y += h + 4;

        let plot_top = TITLE_H + fault_rows as i32 * FAULT_ROW + 8;
        let plot_h = y;
        let legend_top = plot_top + plot_h + AXIS_H;
        let legend_rows = legend_rows(&backends, &vip_colors);
        let height = legend_top + legend_rows * LEGEND_ROW + 8;
        Plan {
            end_ms,
            fault_labels,
            moves,
            move_labels,
            lanes,
            captions,
            plot_top,
            plot_h,
            vip_band,
            move_band_top,
            legend_top,
            height,
            backends,
            vip_colors,
        }
    }

    pub fn fault_row_y(&self, row: usize) -> i32 {
        self.plot_top - 6 - row as i32 * FAULT_ROW
    }

    pub fn move_row_y(&self, row: usize) -> i32 {
        self.plot_top + self.move_band_top + 11 + row as i32 * MOVE_ROW
    }
}

/// A fault mark's label: long descriptions are cut (the full text is in the mark's tooltip).
pub fn label_text(description: &str) -> String {
    crate::report::fmt::truncate(description, 48)
}

pub fn move_text(m: &VipMove, many_vips: bool) -> String {
    if many_vips {
        format!("{}: {}", m.vip, m.label())
    } else {
        m.label()
    }
}

/// Assertion steps on rows: one that starts before the previous one on a row ended (an
/// `outage` measured over a `vip` check) goes one row down instead of hiding it.
fn step_rows(r: &ScenarioResult, end_ms: u64) -> Vec<(usize, usize)> {
    let gap = 4 * end_ms / (WIDTH - LEFT - RIGHT) as u64;
    let mut row_end: Vec<u64> = Vec::new();
    let mut out = Vec::new();
    for (i, s) in r.steps.iter().enumerate().filter(|(_, s)| s.assertion) {
        let row = match row_end.iter().position(|&e| s.start_ms >= e + gap) {
            Some(row) => row,
            None => {
                row_end.push(0);
                row_end.len() - 1
            }
        };
        row_end[row] = s.end_ms.max(s.start_ms + gap);
        out.push((i, row));
    }
    out
}

/// Greedy rows: each label goes in the first row where it does not touch the previous one.
fn stack(items: impl Iterator<Item = (i32, i32)>) -> Vec<Placed> {
    let items: Vec<(i32, i32)> = items.collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].0);
    let mut row_end: Vec<i32> = Vec::new();
    let mut placed = vec![
        Placed {
            row: 0,
            end_anchor: false
        };
        items.len()
    ];
    for i in order {
        let (x, w) = items[i];
        let end_anchor = x + 4 + w > WIDTH - 4;
        let (start, end) = if end_anchor {
            (x - 4 - w, x)
        } else {
            (x, x + 4 + w)
        };
        let row = match row_end.iter().position(|&e| start > e + 6) {
            Some(r) => r,
            None if row_end.len() < MAX_LABEL_ROWS => {
                row_end.push(i32::MIN);
                row_end.len() - 1
            }
            // Full: share the row whose last label ends first.
            None => (0..row_end.len()).min_by_key(|&r| row_end[r]).unwrap_or(0),
        };
        row_end[row] = row_end[row].max(end);
        placed[i] = Placed { row, end_anchor };
    }
    placed
}

fn rows(placed: &[Placed]) -> usize {
    placed.iter().map(|p| p.row + 1).max().unwrap_or(0)
}

/// A stable colour per backend name (FNV-1a of the name picks the palette slot), moved to
/// the next free slot when two backends of one picture collide.
fn backend_colors(names: &[String]) -> Vec<(String, RGBColor)> {
    let mut used = [false; PALETTE.len()];
    names
        .iter()
        .map(|n| {
            let hash = n.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            let mut slot = (hash % PALETTE.len() as u64) as usize;
            for _ in 0..PALETTE.len() {
                if !used[slot] {
                    break;
                }
                slot = (slot + 1) % PALETTE.len();
            }
            used[slot] = true;
            (n.clone(), PALETTE[slot])
        })
        .collect()
}

/// The legend's entries, (swatch, text), in the order they are drawn.
pub fn legend_entries(
    backends: &[(String, RGBColor)],
    vips: &[(IpAddr, RGBColor)],
) -> Vec<(Swatch, String)> {
    let mut v: Vec<(Swatch, String)> = backends
        .iter()
        .map(|(n, c)| (Swatch::Bar(*c), n.clone()))
        .collect();
    v.push((Swatch::Bar(RED), "failed request".into()));
    for (vip, c) in vips {
        v.push((Swatch::Bar(*c), format!("holds {vip}")));
    }
    v.push((Swatch::Thin(ARP), "client ARP".into()));
    v.push((Swatch::Line(RED, "5 3"), "fault".into()));
    v.push((Swatch::Line(GREEN, ""), "repair".into()));
    v.push((Swatch::Line(PURPLE, "2 2"), "VIP move".into()));
    v.push((Swatch::Shade(RED), "invariant violation".into()));
    v.push((Swatch::Bar(GREEN), "assertion passed".into()));
    v.push((Swatch::Bar(RED), "assertion failed".into()));
    v
}

#[derive(Debug, Clone, Copy)]
pub enum Swatch {
    Bar(RGBColor),
    Thin(RGBColor),
    /// A vertical line with an SVG dash pattern ("" for solid).
    Line(RGBColor, &'static str),
    Shade(RGBColor),
}

pub const SWATCH_W: i32 = 16;

fn legend_rows(backends: &[(String, RGBColor)], vips: &[(IpAddr, RGBColor)]) -> i32 {
    legend_layout(backends, vips)
        .iter()
        .map(|(_, _, row)| row + 1)
        .max()
        .unwrap_or(1)
}

/// (x, entry index, row) for each legend entry, wrapping at the picture's width.
pub fn legend_layout(
    backends: &[(String, RGBColor)],
    vips: &[(IpAddr, RGBColor)],
) -> Vec<(i32, usize, i32)> {
    let mut out = Vec::new();
    let (mut x, mut row) = (LEFT, 0);
    for (i, (_, text)) in legend_entries(backends, vips).iter().enumerate() {
        let w = SWATCH_W + 5 + text_w(text, LABEL_PX) + 16;
        if x + w > WIDTH - RIGHT && x > LEFT {
            x = LEFT;
            row += 1;
        }
        out.push((x, i, row));
        x += w;
    }
    out
}

pub fn legend_row_y(legend_top: i32, row: i32) -> i32 {
    legend_top + row * LEGEND_ROW
}
