//! "See the protocols": hand-drawn SVG charts of the measured messages, per protocol, and a
//! table of the aggregates. Each chart is an `img` for assistive technology, with a title and
//! a description that states the numbers it plots.

use std::rc::Rc;

use yew::prelude::*;

use crate::format::{self, Fixed};
use crate::state::device::Protocol;
use crate::state::metrics::{
    C2dAggregate, MetricsState, ProtocolAggregate, HISTORY_SECS, RATE_WINDOW_SECS,
};

/// Properties of [`MetricsPane`].
#[derive(Properties, PartialEq, Clone)]
pub struct MetricsPaneProps {
    /// The measurements.
    pub state: Rc<MetricsState>,
    /// Forget everything measured.
    pub on_clear: Callback<()>,
}

/// Most points one protocol draws in the latency chart (the newest ones).
const MAX_LATENCY_POINTS: usize = 400;

// Chart geometry (viewBox units; the SVG scales to the card's width).
const W: f64 = 600.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 36.0;

/// A protocol's colour, the same in every chart and legend.
fn colour(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::MqttWs => "#0a58c2",
        Protocol::AmqpWs => "#c2410c",
        Protocol::Https => "#7e22ce",
    }
}

/// A protocol's short name for axes and legends.
fn short_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::MqttWs => "MQTT",
        Protocol::AmqpWs => "AMQP",
        Protocol::Https => "HTTPS",
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ (n ≥ 0) that is at least `v`: a round axis maximum.
fn nice_max(v: f64) -> f64 {
    if !v.is_finite() || v <= 1.0 {
        return 1.0;
    }
    let mut step = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * step >= v {
                return m * step;
            }
        }
        step *= 10.0;
    }
}

/// Maps `v` in 0..=max onto the plot's y (top = max).
fn y_of(v: f64, max: f64) -> f64 {
    let h = H - TOP - BOTTOM;
    H - BOTTOM - (v / max).clamp(0.0, 1.0) * h
}

/// Maps seconds ago (HISTORY_SECS … 0) onto the plot's x (right = now).
fn x_of_ago(ago: f64) -> f64 {
    let w = W - LEFT - RIGHT;
    LEFT + (1.0 - (ago / HISTORY_SECS as f64).clamp(0.0, 1.0)) * w
}

/// `points` attribute of a polyline through `(seconds ago, value)`.
fn polyline_points(series: &[(f64, f64)], max: f64) -> String {
    series
        .iter()
        .map(|(ago, v)| format!("{},{}", Fixed(x_of_ago(*ago), 1), Fixed(y_of(*v, max), 1)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn fmt_num(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        Fixed(v, 0).to_string()
    } else {
        Fixed(v, 1).to_string()
    }
}

/// Y axis with three gridlines (0, half, max) and a rotated label.
fn y_axis(max: f64, unit: &str) -> Html {
    html! {
        <g class="axis">
            { for [0.0, 0.5, 1.0].iter().map(|f| {
                let y = y_of(max * f, max);
                html! {
                    <g>
                        <line class="grid" x1={Fixed(LEFT, 0).to_string()} x2={Fixed(W - RIGHT, 0).to_string()}
                            y1={Fixed(y, 1).to_string()} y2={Fixed(y, 1).to_string()} />
                        <text x={Fixed(LEFT - 6.0, 0).to_string()} y={Fixed(y + 4.0, 1).to_string()} text-anchor="end">
                            { fmt_num(max * f) }
                        </text>
                    </g>
                }
            }) }
            <text class="axis-label" transform={format!("translate(14 {}) rotate(-90)", Fixed((TOP + H - BOTTOM) / 2.0, 1))}
                text-anchor="middle">{ unit.to_owned() }</text>
        </g>
    }
}

/// Time axis: 60 s ago … now.
fn time_axis() -> Html {
    let y = H - BOTTOM;
    html! {
        <g class="axis">
            <line class="baseline" x1={Fixed(LEFT, 0).to_string()} x2={Fixed(W - RIGHT, 0).to_string()}
                y1={Fixed(y, 0).to_string()} y2={Fixed(y, 0).to_string()} />
            { for [HISTORY_SECS as f64, HISTORY_SECS as f64 / 2.0, 0.0].iter().map(|ago| html! {
                <text x={Fixed(x_of_ago(*ago), 1).to_string()} y={Fixed(y + 16.0, 0).to_string()}
                    text-anchor={if *ago == 0.0 { "end" } else if *ago == HISTORY_SECS as f64 { "start" } else { "middle" }}>
                    { if *ago == 0.0 { "now".to_owned() } else { format!("−{} s", Fixed(*ago, 0)) } }
                </text>
            }) }
            <text class="axis-label" x={Fixed((LEFT + W - RIGHT) / 2.0, 0).to_string()} y={Fixed(H - 4.0, 0).to_string()}
                text-anchor="middle">{ "time (seconds ago)" }</text>
        </g>
    }
}

fn legend(protocols: &[Protocol]) -> Html {
    html! {
        <ul class="legend" aria-hidden="true">
            { for protocols.iter().map(|p| html! {
                <li><span class="swatch" style={format!("background:{}", colour(*p))}></span>{ short_name(*p) }</li>
            }) }
        </ul>
    }
}

/// The charts and the table.
#[component]
pub fn MetricsPane(props: &MetricsPaneProps) -> Html {
    let state = &props.state;
    let aggregates = state.aggregates();
    let protocols: Vec<Protocol> = aggregates.iter().map(|a| a.protocol).collect();
    html! {
        <section class="pane metrics-pane" aria-labelledby="metrics-title">
            <h2 id="metrics-title" class="pane-title">
                { "Protocols compared" }
                <span class="pane-sub">{ "every acknowledged device-to-cloud message, per protocol" }</span>
            </h2>
            <section class="card" aria-labelledby="metrics-table-title">
                <div class="card-head">
                    <h3 id="metrics-table-title">{ "Per protocol" }</h3>
                    <button type="button" class="secondary small" disabled={state.is_empty()}
                        onclick={props.on_clear.reform(|_: MouseEvent| ())}>{ "Clear" }</button>
                </div>
                if aggregates.is_empty() {
                    <p class="muted">{ "Send messages from a device or the field gateway to see them here." }</p>
                } else {
                    <AggregateTable aggregates={Rc::new(aggregates.clone())} />
                }
            </section>
            <div class="charts">
                <BytesChart aggregates={Rc::new(aggregates.clone())} />
                <LatencyChart state={state.clone()} protocols={Rc::new(protocols.clone())} />
                <RateChart state={state.clone()} protocols={Rc::new(protocols)} />
                <C2dDelivery aggregates={Rc::new(state.c2d_aggregates())} />
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct AggregatesProps {
    aggregates: Rc<Vec<ProtocolAggregate>>,
}

fn opt_ms(v: Option<f64>) -> String {
    v.map(format::latency).unwrap_or_else(|| "–".to_owned())
}

fn opt_bytes(v: Option<f64>) -> String {
    v.map(|b| format!("{} B", Fixed(b, 0)))
        .unwrap_or_else(|| "–".to_owned())
}

#[component]
fn AggregateTable(props: &AggregatesProps) -> Html {
    html! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Aggregates per protocol">
            <table class="metrics-table" id="metrics-table">
                <thead>
                    <tr>
                        <th scope="col">{ "Protocol" }</th>
                        <th scope="col" class="num">{ "Messages" }</th>
                        <th scope="col" class="num">{ "Body (mean)" }</th>
                        <th scope="col" class="num">{ "Wire (mean)" }</th>
                        <th scope="col" class="num" title="(wire − body) / wire">{ "Overhead" }</th>
                        <th scope="col" class="num">{ "Latency p50" }</th>
                        <th scope="col" class="num">{ "p99" }</th>
                        <th scope="col" class="num" title={format!("over the last {RATE_WINDOW_SECS} complete seconds")}>{ "Msgs/s" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for props.aggregates.iter().map(|a| html! {
                        <tr key={a.protocol.as_str()} data-protocol={a.protocol.as_str()}>
                            <th scope="row">
                                <span class="swatch" aria-hidden="true" style={format!("background:{}", colour(a.protocol))}></span>
                                { short_name(a.protocol) }
                            </th>
                            <td class="num" data-col="count">{ a.count }</td>
                            <td class="num">{ format!("{} B", Fixed(a.mean_body_bytes, 0)) }</td>
                            <td class="num">{ opt_bytes(a.mean_wire_bytes) }</td>
                            <td class="num">{ a.overhead_pct.map(|p| format!("{} %", Fixed(p, 0))).unwrap_or_else(|| "–".to_owned()) }</td>
                            <td class="num">{ opt_ms(a.latency_p50_ms) }</td>
                            <td class="num">{ opt_ms(a.latency_p99_ms) }</td>
                            <td class="num">{ Fixed(a.rate_per_sec, 1).to_string() }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}

/// Chart 1: mean body bytes beside mean bytes on the wire, per protocol.
#[component]
fn BytesChart(props: &AggregatesProps) -> Html {
    let aggs = &props.aggregates;
    let max = nice_max(
        aggs.iter()
            .map(|a| a.mean_wire_bytes.unwrap_or(0.0).max(a.mean_body_bytes))
            .fold(0.0, f64::max),
    );
    let summary = if aggs.is_empty() {
        "No messages yet.".to_owned()
    } else {
        aggs.iter()
            .map(|a| match (a.mean_wire_bytes, a.overhead_pct) {
                (Some(w), Some(o)) => format!(
                    "{}: {} body bytes, {} bytes on the wire ({} % overhead)",
                    short_name(a.protocol),
                    Fixed(a.mean_body_bytes, 0),
                    Fixed(w, 0),
                    Fixed(o, 0)
                ),
                _ => format!(
                    "{}: {} body bytes, wire size not reported",
                    short_name(a.protocol),
                    Fixed(a.mean_body_bytes, 0)
                ),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let slot_w = (W - LEFT - RIGHT) / aggs.len().max(1) as f64;
    let bar_w = (slot_w * 0.3).min(60.0);
    let bars = aggs.iter().enumerate().map(|(i, a)| {
        let cx = LEFT + slot_w * (i as f64 + 0.5);
        let c = colour(a.protocol);
        let bar = |x: f64, v: f64, class: &'static str, label: String| {
            let y = y_of(v, max);
            html! {
                <g class={class}>
                    <rect x={Fixed(x, 1).to_string()} y={Fixed(y, 1).to_string()} width={Fixed(bar_w, 1).to_string()}
                        height={Fixed((H - BOTTOM - y).max(0.0), 1).to_string()} fill={c} />
                    <text class="bar-label" x={Fixed(x + bar_w / 2.0, 1).to_string()} y={Fixed(y - 4.0, 1).to_string()}
                        text-anchor="middle">{ label }</text>
                </g>
            }
        };
        html! {
            <g class="bar-group" data-protocol={a.protocol.as_str()}>
                { bar(cx - bar_w - 2.0, a.mean_body_bytes, "bar body", Fixed(a.mean_body_bytes, 0).to_string()) }
                { match a.mean_wire_bytes {
                    Some(w) => bar(cx + 2.0, w, "bar wire", Fixed(w, 0).to_string()),
                    None => html! {
                        <text class="bar-label" x={Fixed(cx + 2.0 + bar_w / 2.0, 1).to_string()} y={Fixed(H - BOTTOM - 4.0, 1).to_string()}
                            text-anchor="middle">{ "n/a" }</text>
                    },
                } }
                <text x={Fixed(cx, 1).to_string()} y={Fixed(H - BOTTOM + 16.0, 0).to_string()} text-anchor="middle">
                    { short_name(a.protocol) }
                </text>
            </g>
        }
    });
    html! {
        <figure class="card chart">
            <figcaption><h3>{ "Bytes per message: body vs on the wire" }</h3></figcaption>
            <svg viewBox={format!("0 0 {} {}", Fixed(W, 0), Fixed(H, 0))} width="100%" role="img"
                aria-labelledby="chart-bytes-title chart-bytes-desc" preserveAspectRatio="xMidYMid meet">
                <title id="chart-bytes-title">{ "Mean bytes per message, body and on the wire, per protocol" }</title>
                <desc id="chart-bytes-desc">{ summary }</desc>
                { y_axis(max, "bytes") }
                <line class="baseline" x1={Fixed(LEFT, 0).to_string()} x2={Fixed(W - RIGHT, 0).to_string()}
                    y1={Fixed(H - BOTTOM, 0).to_string()} y2={Fixed(H - BOTTOM, 0).to_string()} />
                { for bars }
            </svg>
            <ul class="legend" aria-hidden="true">
                <li><span class="swatch body-swatch"></span>{ "body (lighter bar, left)" }</li>
                <li><span class="swatch wire-swatch"></span>{ "on the wire (solid bar, right)" }</li>
            </ul>
        </figure>
    }
}

#[derive(Properties, PartialEq)]
struct SeriesProps {
    state: Rc<MetricsState>,
    protocols: Rc<Vec<Protocol>>,
}

/// Chart 2: send→ack latency of each message over the last minute.
#[component]
fn LatencyChart(props: &SeriesProps) -> Html {
    let series: Vec<(Protocol, Vec<(f64, f64)>)> = props
        .protocols
        .iter()
        .map(|p| {
            let s = props.state.latency_series(*p);
            let skip = s.len().saturating_sub(MAX_LATENCY_POINTS);
            (*p, s.into_iter().skip(skip).collect())
        })
        .collect();
    let max = nice_max(
        series
            .iter()
            .flat_map(|(_, s)| s.iter().map(|(_, v)| *v))
            .fold(0.0, f64::max),
    );
    let summary = {
        let parts: Vec<String> = props
            .protocols
            .iter()
            .map(|p| {
                let a = props.state.aggregate(*p);
                format!(
                    "{}: median {}, 99th percentile {}",
                    short_name(*p),
                    opt_ms(a.latency_p50_ms),
                    opt_ms(a.latency_p99_ms)
                )
            })
            .collect();
        if parts.is_empty() {
            "No messages yet.".to_owned()
        } else {
            parts.join("; ")
        }
    };
    html! {
        <figure class="card chart">
            <figcaption><h3>{ "Send → acknowledgement latency" }</h3></figcaption>
            <svg viewBox={format!("0 0 {} {}", Fixed(W, 0), Fixed(H, 0))} width="100%" role="img"
                aria-labelledby="chart-latency-title chart-latency-desc" preserveAspectRatio="xMidYMid meet">
                <title id="chart-latency-title">{ "Latency of each message over the last minute, per protocol" }</title>
                <desc id="chart-latency-desc">{ summary }</desc>
                { y_axis(max, "ms") }
                { time_axis() }
                { for series.iter().map(|(p, s)| html! {
                    <g class="points" data-protocol={p.as_str()} fill={colour(*p)}>
                        { for s.iter().map(|(ago, v)| html! {
                            <circle cx={Fixed(x_of_ago(*ago), 1).to_string()} cy={Fixed(y_of(*v, max), 1).to_string()} r="2.5" />
                        }) }
                    </g>
                }) }
            </svg>
            { legend(&props.protocols) }
        </figure>
    }
}

/// Chart 3: messages per second over the last minute.
#[component]
fn RateChart(props: &SeriesProps) -> Html {
    let series: Vec<(Protocol, Vec<(f64, f64)>)> = props
        .protocols
        .iter()
        .map(|p| {
            let s = props
                .state
                .rate_series(*p)
                .into_iter()
                .map(|(ago, n)| (ago as f64, f64::from(n)))
                .collect();
            (*p, s)
        })
        .collect();
    let max = nice_max(
        series
            .iter()
            .flat_map(|(_, s)| s.iter().map(|(_, v)| *v))
            .fold(0.0, f64::max),
    );
    let summary = {
        let parts: Vec<String> = props
            .protocols
            .iter()
            .map(|p| {
                format!(
                    "{}: {} messages per second over the last {RATE_WINDOW_SECS} seconds",
                    short_name(*p),
                    Fixed(props.state.rate_per_sec(*p), 1)
                )
            })
            .collect();
        if parts.is_empty() {
            "No messages yet.".to_owned()
        } else {
            parts.join("; ")
        }
    };
    html! {
        <figure class="card chart">
            <figcaption><h3>{ "Messages per second" }</h3></figcaption>
            <svg viewBox={format!("0 0 {} {}", Fixed(W, 0), Fixed(H, 0))} width="100%" role="img"
                aria-labelledby="chart-rate-title chart-rate-desc" preserveAspectRatio="xMidYMid meet">
                <title id="chart-rate-title">{ "Acknowledged messages per second over the last minute, per protocol" }</title>
                <desc id="chart-rate-desc">{ summary }</desc>
                { y_axis(max, "msgs/s") }
                { time_axis() }
                { for series.iter().filter(|(_, s)| !s.is_empty()).map(|(p, s)| html! {
                    <polyline class="rate-line" data-protocol={p.as_str()} fill="none" stroke={colour(*p)}
                        stroke-width="2" stroke-linejoin="round" points={polyline_points(s, max)} />
                }) }
            </svg>
            { legend(&props.protocols) }
        </figure>
    }
}

#[derive(Properties, PartialEq)]
struct C2dProps {
    aggregates: Rc<Vec<C2dAggregate>>,
}

/// x of a bar's end on a log scale (1 ms … `max` ms), so milliseconds and minutes both show.
fn log_x(ms: f64, max: f64) -> f64 {
    let span = (max.max(10.0)).log10();
    LEFT + (ms.max(1.0).log10() / span).clamp(0.0, 1.0) * (W - LEFT - RIGHT - 70.0)
}

/// Chart 4: cloud-to-device delivery, send → arrival in a session's inbox (push vs poll).
#[component]
fn C2dDelivery(props: &C2dProps) -> Html {
    let aggs = &props.aggregates;
    let max = nice_max(aggs.iter().map(|a| a.max_ms).fold(0.0, f64::max));
    let row_h = 34.0;
    let h = TOP + row_h * aggs.len() as f64 + 10.0;
    let summary = aggs
        .iter()
        .map(|a| {
            let p = short_name(a.protocol);
            format!(
                "{p}: median {}, slowest {}",
                opt_ms(a.p50_ms),
                format::latency(a.max_ms)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        <figure class="card chart" id="c2d-delivery">
            <figcaption>
                <h3>{ "Cloud → device delivery" }</h3>
                <p class="muted">{ "MQTT and AMQP push; HTTPS waits for the next poll. \
                    Only messages sent from this page's cloud pane can be timed." }</p>
            </figcaption>
            if aggs.is_empty() {
                <p class="muted">{ "Send a message from the cloud pane to a connected session." }</p>
            } else {
                <div class="table-scroll" tabindex="0" role="region" aria-label="Cloud to device delivery per protocol">
                    <table class="metrics-table" id="c2d-table">
                        <thead><tr>
                            <th scope="col">{ "Protocol" }</th>
                            <th scope="col" class="num">{ "Delivered" }</th>
                            <th scope="col" class="num">{ "p50" }</th>
                            <th scope="col" class="num">{ "Max" }</th>
                        </tr></thead>
                        <tbody>
                            { for aggs.iter().map(|a| html! {
                                <tr key={a.protocol.as_str()} data-protocol={a.protocol.as_str()}>
                                    <th scope="row">{ short_name(a.protocol) }</th>
                                    <td class="num" data-col="count">{ a.count }</td>
                                    <td class="num" data-col="p50" data-ms={a.p50_ms.map(|v| Fixed(v, 0).to_string())}>{ opt_ms(a.p50_ms) }</td>
                                    <td class="num">{ format::latency(a.max_ms) }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                </div>
                <svg viewBox={format!("0 0 {} {}", Fixed(W, 0), Fixed(h, 0))} width="100%" role="img"
                aria-labelledby="chart-c2d-title chart-c2d-desc" preserveAspectRatio="xMidYMid meet">
                <title id="chart-c2d-title">{ "Median cloud-to-device delivery time per protocol, log scale" }</title>
                <desc id="chart-c2d-desc">{ summary }</desc>
                { for aggs.iter().enumerate().map(|(i, a)| {
                    let y = TOP + row_h * i as f64;
                    let v = a.p50_ms.unwrap_or(0.0);
                    let end = log_x(v, max);
                    html! {
                        <g class="bar-group" data-protocol={a.protocol.as_str()}>
                            <text x={Fixed(LEFT - 6.0, 0).to_string()} y={Fixed(y + 17.0, 1).to_string()} text-anchor="end">
                                { short_name(a.protocol) }
                            </text>
                            <rect x={Fixed(LEFT, 0).to_string()} y={Fixed(y, 1).to_string()} height="24"
                                width={Fixed((end - LEFT).max(2.0), 1).to_string()} fill={colour(a.protocol)} />
                            <text class="bar-label" x={Fixed(end.max(LEFT + 2.0) + 6.0, 1).to_string()} y={Fixed(y + 17.0, 1).to_string()}>
                                { opt_ms(a.p50_ms) }
                            </text>
                        </g>
                    }
                }) }
                </svg>
            }
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_max_rounds_up_to_1_2_5() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(f64::NAN), 1.0);
        assert_eq!(nice_max(1.5), 2.0);
        assert_eq!(nice_max(2.0), 2.0);
        assert_eq!(nice_max(3.0), 5.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(180.0), 200.0);
        assert_eq!(nice_max(501.0), 1000.0);
    }

    #[test]
    fn polyline_maps_time_and_value_into_the_plot() {
        // 60 s ago at the left edge, now at the right; 0 on the baseline, max at the top.
        let p = polyline_points(&[(60.0, 0.0), (0.0, 10.0), (30.0, 5.0)], 10.0);
        assert_eq!(p, "56.0,184.0 588.0,14.0 322.0,99.0");
        // Out-of-range values are clamped to the plot.
        assert_eq!(polyline_points(&[(90.0, 20.0)], 10.0), "56.0,14.0");
    }

    #[test]
    fn log_scale_separates_milliseconds_from_seconds() {
        let (a, b, c) = (
            log_x(5.0, 10_000.0),
            log_x(5_000.0, 10_000.0),
            log_x(10_000.0, 10_000.0),
        );
        assert!(LEFT < a && a < b && b < c);
        assert_eq!(log_x(0.0, 10_000.0), LEFT);
        assert_eq!(c, W - RIGHT - 70.0);
    }

    #[test]
    fn colours_differ_per_protocol() {
        let c: Vec<_> = Protocol::AVAILABLE.iter().map(|p| colour(*p)).collect();
        assert!(c
            .iter()
            .enumerate()
            .all(|(i, a)| c.iter().skip(i + 1).all(|b| a != b)));
    }
}
