// metrics.js - reads the server's Prometheus text (/metrics) and keeps a short series of
// samples, so that request rate and mean latency can be drawn as they change. Requests of
// the inspector itself (/ui files, /metrics polls) are left out of the rate.

import { api } from './api.js';

const SELF = new Set(['metrics', 'ui', 'uiFile', 'none']);
const MAX_SAMPLES = 40;
const samples = [];

// Prometheus text format 0.0.4: "name{l="v",...} value" lines; comments skipped.
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

function summarize(list) {
  const g = (name) => {
    const x = list.find((e) => e.name === name);
    return x ? x.value : NaN;
  };
  let requests = 0;
  let durSum = 0;
  let durCount = 0;
  const routes = {};
  for (const e of list) {
    const r = e.labels.route;
    if (!r || SELF.has(r)) continue;
    if (e.name === 'mnemo_http_requests_total') requests += e.value;
    else if (e.name === 'mnemo_http_request_duration_seconds_sum') {
      durSum += e.value;
      (routes[r] ||= { sum: 0, count: 0 }).sum = e.value;
    } else if (e.name === 'mnemo_http_request_duration_seconds_count') {
      durCount += e.value;
      (routes[r] ||= { sum: 0, count: 0 }).count = e.value;
    }
  }
  return {
    t: performance.now() / 1000,
    requests, durSum, durCount, routes,
    storeBytes: g('mnemo_store_file_bytes'),
    memories: g('mnemo_memories'),
    partitionBytes: g('mnemo_partition_bytes'),
    uptime: g('mnemo_uptime_seconds'),
    inFlight: g('mnemo_http_in_flight'),
  };
}

// Takes a sample; returns {now, rate: [...req/s], latency: [...ms]} over the kept samples.
export async function sample() {
  const text = await api.metrics();
  const now = summarize(parseMetrics(typeof text === 'string' ? text : ''));
  samples.push(now);
  if (samples.length > MAX_SAMPLES) samples.shift();
  const rate = [];
  const latency = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const dt = b.t - a.t;
    const dn = b.durCount - a.durCount;
    rate.push(dt > 0 ? Math.max(0, b.requests - a.requests) / dt : NaN);
    latency.push(dn > 0 ? ((b.durSum - a.durSum) / dn) * 1000 : NaN);
  }
  return { now, rate, latency };
}
