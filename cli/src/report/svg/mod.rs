//! The timeline picture of one run, as SVG. plotters draws the chart (axis, grid, lanes,
//! bars, lane names); the marks that tests and people look for (faults, repairs, VIP moves,
//! violations) and the legend are written by hand, because plotters cannot give an element a
//! class or a tooltip: each is a `<g class="fault-mark">`, `<g class="vip-move">` or
//! `<g class="violation">` with `data-t-ms` and a `<title>`.
//!
//! Layout, top to bottom: title, fault labels, VIP lanes (one per LB node and VIP), VIP-move
//! labels, request lanes (one per backend, then failures), assertion steps, x axis, legend.

mod marks;
mod plan;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use self::plan::{FONT, LEFT, Lane, LaneKind, Plan, REQ_ROW, RIGHT, WIDTH};
use crate::report::fmt;
use crate::report::timeline::{self, Answer, Span};
use crate::scenario::result::{Outcome, ScenarioResult};

/// The timeline of `r` as a standalone SVG document.
pub fn timeline_svg(r: &ScenarioResult) -> String {
    let plan = Plan::new(r);
    let mut buf = String::new();
    let drawn = draw(&mut buf, r, &plan);
    match drawn {
        Ok(marks) => match buf.rfind("</svg>") {
            Some(at) => {
                buf.insert_str(at, &marks);
                buf
            }
            None => error_svg("plotters wrote no </svg>"),
        },
        Err(e) => error_svg(&e),
    }
}

/// Still a valid picture, so the HTML report stays whole when drawing fails.
fn error_svg(error: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"40\"><text x=\"10\" y=\"25\" \
         font-family=\"{FONT}\" fill=\"#d62728\">failed to draw the timeline: {}</text></svg>\n",
        fmt::escape(error)
    )
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws the plotters part into `buf`; returns the hand-written marks to add before `</svg>`.
fn draw(buf: &mut String, r: &ScenarioResult, plan: &Plan) -> Result<String, String> {
    let size = (WIDTH as u32, plan.height.max(1) as u32);
    let root = SVGBackend::with_string(buf, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    title(&root, r).map_err(|e| e.to_string())?;

    // The chart is the lanes plus the axis; the legend below it is hand-written.
    let below = plan.height - plan.plot_top - plan.plot_h - plan::AXIS_H;
    let area = root.margin(plan.plot_top, below, LEFT, RIGHT);
    let end_s = plan.end_ms as f64 / 1000.0;
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(plan::AXIS_H)
        .build_cartesian_2d(0.0..end_s, -(f64::from(plan.plot_h - 1))..0.0)
        .map_err(|e| e.to_string())?;
    // Tick values are computed floats: 0.30000000000000004 must read 0.3.
    let fmt_s = |v: &f64| {
        format!(
            "{}s",
            format!("{v:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.')
        )
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_labels(12)
        .x_label_formatter(&fmt_s)
        .x_desc("seconds since the scenario started")
        .label_style((FONT, 12).into_font().color(&plan::GREY))
        .axis_desc_style((FONT, 12).into_font().color(&plan::GREY))
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(222, 222, 222))
        .draw()
        .map_err(|e| e.to_string())?;

    for (i, lane) in plan.lanes.iter().enumerate() {
        draw_lane(&mut chart, &root, r, plan, lane, i).map_err(|e| e.to_string())?;
    }
    for &(y, text) in &plan.captions {
        let style = (FONT, 12)
            .into_font()
            .style(FontStyle::Bold)
            .color(&plan::GREY);
        root.draw(&Text::new(
            text,
            (10, plan.plot_top + y + 3),
            style.pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(|e| e.to_string())?;
    }
    let marks = marks::Marks {
        r,
        plan,
        x: &|t_ms| chart.backend_coord(&(t_ms as f64 / 1000.0, 0.0)).0,
    }
    .render();
    drop(chart);
    root.present().map_err(|e| e.to_string())?;
    Ok(marks)
}

fn title(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    r: &ScenarioResult,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    let name = fmt::printable(&format!("{}/{}/{}", r.lab, r.scenario, r.engine));
    root.draw(&Text::new(
        name,
        (10, 10),
        (FONT, 20).into_font().style(FontStyle::Bold).color(&BLACK),
    ))?;
    let (verdict, color) = if r.error.is_some() {
        ("ERROR", plan::RED)
    } else if r.passed {
        ("PASSED", plan::GREEN)
    } else {
        ("FAILED", plan::RED)
    };
    let style = (FONT, 20)
        .into_font()
        .style(FontStyle::Bold)
        .color(&color)
        .pos(Pos::new(HPos::Right, VPos::Top));
    root.draw(&Text::new(verdict, (WIDTH - RIGHT, 10), style))?;
    let (requests, failed) = timeline::probe_totals(&r.samples);
    let faults = r.faults.iter().filter(|f| f.fault).count();
    let n =
        |count: usize, what: &str| format!("{count} {what}{}", if count == 1 { "" } else { "s" });
    let sub = [
        fmt::secs(r.duration_ms),
        format!("{} ({failed} failed)", n(requests, "request")),
        n(faults, "fault"),
        n(r.faults.len() - faults, "repair"),
        n(timeline::vip_moves(&r.vip_timeline).len(), "VIP move"),
        n(r.violations.len(), "violation"),
    ]
    .join(" · ");
    root.draw(&Text::new(
        sub,
        (10, 34),
        (FONT, 12).into_font().color(&plan::GREY),
    ))?;
    Ok(())
}

fn draw_lane(
    chart: &mut Chart<'_, '_>,
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    r: &ScenarioResult,
    plan: &Plan,
    lane: &Lane,
    index: usize,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    // Zebra stripes so a lane can be followed across the picture.
    if index.is_multiple_of(2) {
        let bg = RGBColor(247, 247, 247).filled();
        chart.draw_series([rect((0, plan.end_ms), lane.top, lane.top + lane.h, bg)])?;
    }
    let color = if matches!(lane.kind, LaneKind::Failed(_)) {
        plan::RED
    } else {
        BLACK
    };
    let label_style = (FONT, 12)
        .into_font()
        .color(&color)
        .pos(Pos::new(HPos::Right, VPos::Center));
    root.draw(&Text::new(
        fmt::printable(&lane.label),
        (LEFT - 8, plan.plot_top + lane.top + lane.h / 2),
        label_style,
    ))?;
    // At least 2 px wide: a single failed request must show.
    let min_ms = 2 * plan.end_ms / (WIDTH - LEFT - RIGHT) as u64;
    let merge_ms = (3 * plan.end_ms / (2 * (WIDTH - LEFT - RIGHT) as u64)).max(25);
    let bars = |spans: Vec<Span>, top: i32, bottom: i32, color: RGBColor| {
        spans.into_iter().map(move |s| {
            rect(
                (s.start_ms, s.end_ms.max(s.start_ms + min_ms)),
                top,
                bottom,
                color.filled(),
            )
        })
    };
    let (top, bottom) = (lane.top + 1, lane.top + REQ_ROW - 1);
    // The requests of one lane: those through its VIP, or all of them.
    let via = |vip: Option<std::net::IpAddr>| -> Vec<crate::scenario::result::Sample> {
        r.samples
            .iter()
            .filter(|s| vip.is_none() || s.vip == vip)
            .cloned()
            .collect()
    };
    match &lane.kind {
        LaneKind::Vip { vip, node, color } => {
            let held = timeline::vip_spans(&r.vip_timeline, *vip, node, false, plan.end_ms);
            chart.draw_series(bars(held, lane.top + 2, lane.top + 14, *color))?;
            let arp = timeline::vip_spans(&r.vip_timeline, *vip, node, true, plan.end_ms);
            chart.draw_series(bars(arp, lane.top + 16, lane.top + 19, plan::ARP))?;
        }
        LaneKind::Backend { name, color, vip } => {
            chart.draw_series(bars(
                timeline::answer_spans(&via(*vip), Answer::Backend(name), merge_ms),
                top,
                bottom,
                *color,
            ))?;
        }
        LaneKind::Unknown(vip) => {
            chart.draw_series(bars(
                timeline::answer_spans(&via(*vip), Answer::Unknown, merge_ms),
                top,
                bottom,
                plan::GREY,
            ))?;
        }
        LaneKind::Failed(vip) => {
            chart.draw_series(bars(
                timeline::answer_spans(&via(*vip), Answer::Failed, merge_ms),
                top,
                bottom,
                plan::RED,
            ))?;
        }
        LaneKind::Steps(rows) => {
            for &(i, row) in rows {
                let Some(s) = r.steps.get(i) else { continue };
                let color = match s.outcome {
                    Outcome::Passed { .. } => plan::GREEN,
                    Outcome::Failed { .. } => plan::RED,
                    Outcome::Skipped => RGBColor(190, 190, 190),
                };
                let top = lane.top + row as i32 * REQ_ROW;
                let span = Span {
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                };
                chart.draw_series(bars(vec![span], top + 1, top + REQ_ROW - 1, color))?;
                // The step's number, as in the terminal and the table: inside the bar when
                // it fits, after it otherwise.
                let (x0, y) = chart
                    .backend_coord(&(s.start_ms as f64 / 1000.0, -f64::from(top + REQ_ROW / 2)));
                let x1 = chart.backend_coord(&(s.end_ms as f64 / 1000.0, 0.0)).0;
                let no = (s.index + 1).to_string();
                let inside = x1 - x0 >= plan::text_w(&no, 10.0) + 4;
                let (x, fg) = if inside {
                    (x0 + 2, WHITE)
                } else {
                    (x0.max(x1) + 3, plan::GREY)
                };
                let style = (FONT, 10)
                    .into_font()
                    .style(FontStyle::Bold)
                    .color(&fg)
                    .pos(Pos::new(HPos::Left, VPos::Center));
                root.draw(&Text::new(no, (x, y), style))?;
            }
        }
    }
    Ok(())
}

/// A bar from `ms.0` to `ms.1`, between `top` and `bottom` pixels below the chart's top.
fn rect(ms: (u64, u64), top: i32, bottom: i32, style: ShapeStyle) -> Rectangle<(f64, f64)> {
    let x = |t: u64| t as f64 / 1000.0;
    Rectangle::new(
        [(x(ms.0), -f64::from(top)), (x(ms.1), -f64::from(bottom))],
        style,
    )
}

#[cfg(test)]
mod tests;
