// A request's header fields as the validators and the application's decision read them, whatever
// carried them: an HTTP/1.1 head (HttpHeadParser keeps views into its own buffer) or an HTTP/2 /
// HTTP/3 header block (ConnectRequest owns decoded copies). Names keep the case they arrived in
// (HTTP/2 and HTTP/3 require lower case, RFC 9113 §8.2.1, RFC 9114 §4.2).
#pragma once

#include <cstddef>
#include <string_view>

namespace sockudo::handshake {

class HeaderList {
 public:
  virtual ~HeaderList() = default;
  virtual size_t header_count() const = 0;
  virtual std::string_view header_name(size_t i) const = 0;
  virtual std::string_view header_value(size_t i) const = 0;
};

}  // namespace sockudo::handshake
