//! The hand-written part of the timeline: fault and repair marks, VIP moves, violations and
//! the legend. Every mark is one `<g>` with a class, `data-t-ms` and a `<title>` tooltip, so a
//! test (or a script) can find and count them.

use std::fmt::Write as _;

use plotters::style::RGBColor;

use super::plan::{self, FONT, LABEL_PX, Plan, SWATCH_W, Swatch, WIDTH};
use crate::report::fmt::{escape, secs};
use crate::scenario::result::ScenarioResult;

pub struct Marks<'a> {
    pub r: &'a ScenarioResult,
    pub plan: &'a Plan,
    /// Milliseconds to the picture's x pixel, as plotters maps them.
    pub x: &'a dyn Fn(u64) -> i32,
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

impl Marks<'_> {
    pub fn render(&self) -> String {
        let mut out =
            format!("<g class=\"marks\" font-family=\"{FONT}\" font-size=\"{LABEL_PX}\">\n");
        self.violations(&mut out);
        // Faults before moves: a move's label backing may cut a fault line, never the reverse.
        self.faults(&mut out);
        self.moves(&mut out);
        self.legend(&mut out);
        out.push_str("</g>\n");
        out
    }

    fn violations(&self, out: &mut String) {
        let p = self.plan;
        let (top, bottom) = (p.plot_top + p.vip_band.0, p.plot_top + p.vip_band.1);
        for v in &self.r.violations {
            let x0 = (self.x)(v.start_ms);
            let w = ((self.x)(v.end_ms) - x0).max(3);
            let _ = writeln!(
                out,
                "<g class=\"violation\" data-t-ms=\"{}\" data-end-ms=\"{}\"><title>{}..{}: {}</title>\
                 <rect x=\"{x0}\" y=\"{top}\" width=\"{w}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.25\" \
                 stroke=\"{1}\" stroke-opacity=\"0.6\"/></g>",
                v.start_ms,
                v.end_ms,
                secs(v.start_ms),
                secs(v.end_ms),
                escape(&v.what),
                bottom - top,
                hex(plan::RED),
            );
        }
    }

    fn moves(&self, out: &mut String) {
        let p = self.plan;
        let many_vips = p.vip_colors.len() > 1;
        let color = hex(plan::PURPLE);
        for (m, placed) in p.moves.iter().zip(&p.move_labels) {
            let x = (self.x)(m.t_ms);
            let text = plan::move_text(m, many_vips);
            let y = p.move_row_y(placed.row);
            let _ = write!(
                out,
                "<g class=\"vip-move\" data-t-ms=\"{}\" data-vip=\"{}\" data-from=\"{}\" data-to=\"{}\">\
                 <title>{}: VIP {} moved: {}</title>\
                 <line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-dasharray=\"2 2\"/>",
                m.t_ms,
                m.vip,
                escape(&m.from.join(" ")),
                escape(&m.to.join(" ")),
                secs(m.t_ms),
                m.vip,
                escape(&m.label()),
                p.plot_top + p.vip_band.0,
                y - 9,
            );
            label(out, x, y, placed.end_anchor, &text, &color);
            out.push_str("</g>\n");
        }
    }

    fn faults(&self, out: &mut String) {
        let p = self.plan;
        let bottom = p.plot_top + p.plot_h;
        // Farthest rows first: a nearer label's background then hides the lines crossing it.
        let mut order: Vec<usize> = (0..self.r.faults.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(p.fault_labels.get(i).map_or(0, |l| l.row)));
        for i in order {
            let (Some(f), Some(placed)) = (self.r.faults.get(i), p.fault_labels.get(i)) else {
                continue;
            };
            let x = (self.x)(f.t_ms);
            let y = p.fault_row_y(placed.row);
            let (kind, color, dash) = if f.fault {
                ("fault", hex(plan::RED), " stroke-dasharray=\"5 3\"")
            } else {
                ("repair", hex(plan::GREEN), "")
            };
            let _ = write!(
                out,
                "<g class=\"fault-mark {kind}\" data-t-ms=\"{}\"><title>{}: {kind}: {}</title>\
                 <line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{color}\" stroke-width=\"1.5\"{dash}/>",
                f.t_ms,
                secs(f.t_ms),
                escape(&f.description),
                y + 3,
            );
            label(
                out,
                x,
                y,
                placed.end_anchor,
                &plan::label_text(&f.description),
                &color,
            );
            out.push_str("</g>\n");
        }
    }

    fn legend(&self, out: &mut String) {
        let p = self.plan;
        let entries = plan::legend_entries(&p.backends, &p.vip_colors);
        out.push_str("<g class=\"legend\">\n");
        for (x, i, row) in plan::legend_layout(&p.backends, &p.vip_colors) {
            let Some((swatch, text)) = entries.get(i) else {
                continue;
            };
            let y = plan::legend_row_y(p.legend_top, row);
            let _ = match *swatch {
                Swatch::Bar(c) => write!(
                    out,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{SWATCH_W}\" height=\"10\" fill=\"{}\"/>",
                    y + 2,
                    hex(c)
                ),
                Swatch::Thin(c) => write!(
                    out,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{SWATCH_W}\" height=\"3\" fill=\"{}\"/>",
                    y + 6,
                    hex(c)
                ),
                Swatch::Shade(c) => write!(
                    out,
                    "<rect x=\"{x}\" y=\"{}\" width=\"{SWATCH_W}\" height=\"12\" fill=\"{}\" fill-opacity=\"0.25\" stroke=\"{1}\" stroke-opacity=\"0.6\"/>",
                    y + 1,
                    hex(c)
                ),
                Swatch::Line(c, dash) => write!(
                    out,
                    "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1.5\" stroke-dasharray=\"{dash}\"/>",
                    x + SWATCH_W / 2,
                    y,
                    y + 14,
                    hex(c)
                ),
            };
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"#333\">{}</text>",
                x + SWATCH_W + 5,
                y + 11,
                escape(text)
            );
        }
        out.push_str("</g>\n");
    }
}

/// A mark's label with a white backing, so lines crossing it do not make it unreadable.
fn label(out: &mut String, x: i32, y: i32, end_anchor: bool, text: &str, color: &str) {
    let w = plan::text_w(text, LABEL_PX);
    let (bx, tx, anchor) = if end_anchor {
        (x - 4 - w, x - 3, "end")
    } else {
        (x + 1, x + 3, "start")
    };
    let bx = bx.clamp(0, WIDTH - w);
    let _ = write!(
        out,
        "<rect x=\"{bx}\" y=\"{}\" width=\"{}\" height=\"13\" fill=\"#fff\" fill-opacity=\"0.85\"/>\
         <text x=\"{tx}\" y=\"{y}\" text-anchor=\"{anchor}\" fill=\"{color}\">{}</text>",
        y - 10,
        w + 3,
        escape(text),
    );
}
