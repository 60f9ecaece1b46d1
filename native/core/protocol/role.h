// Which end of the connection this engine is: it decides masking (RFC 6455 §5.1, §5.3) and who
// closes the TCP connection first (§7.1.1).
#pragma once

#include <cstdint>

namespace sockudo::protocol {

enum class Role : uint8_t { Server, Client };

}  // namespace sockudo::protocol
