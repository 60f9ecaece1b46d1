// Reason phrases for the status lines the handshake writes (RFC 9110 §15, RFC 6585).
#pragma once

namespace sockudo::handshake {

// The registered reason phrase, or a generic one for the status class ("Client Error", ...) when
// the code is not in the table. The phrase is informational only (RFC 9112 §4).
const char* reason_phrase(int status);

}  // namespace sockudo::handshake
