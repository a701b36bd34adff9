// server/metrics_page.h: the /metrics document (Prometheus text format
// 0.0.4) of a running ServerApp.
//
// Every counter is per shard with a single writer (its shard); a scrape
// reads them with relaxed loads from whatever shard serves /metrics and
// sums or labels them here. Nothing on the request path is touched: the
// cost of metrics is paid at scrape time.
//
// Names follow Prometheus and OpenTelemetry conventions: ringshard_ prefix,
// _total for counters, base units (seconds, bytes), and `route` is the
// registered pattern, never the raw path.
//
// Control plane (a scrape): allocates.
#pragma once

#include <string>

namespace ringshard::server {

class ServerApp;

std::string render_metrics(const ServerApp& app);

}  // namespace ringshard::server
