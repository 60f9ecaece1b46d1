// The five scenarios. Each runs on a prepared Run (options, endpoint, loop) and fills the result
// object; errors are counted on the Run, a stall or an impossible run throws Fatal.
#pragma once

#include "json.h"
#include "runner.h"

namespace sockudo::loadgen {

void run_echo(Run& run, JsonObject& out);
void run_pipelined(Run& run, JsonObject& out);
void run_broadcast(Run& run, JsonObject& out);
void run_connections(Run& run, JsonObject& out);
void run_latency(Run& run, JsonObject& out);

}  // namespace sockudo::loadgen
