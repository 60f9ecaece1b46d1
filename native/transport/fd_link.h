// A link over a TCP socket's descriptor (or a pipe handed to handleUpgrade), driven by a uv_poll_t:
// readiness from the kernel, recv()/send() straight into and out of the session's buffers.
// Reads land in the loop's receive buffer (zero-copy: the engine unmasks them in place); a write
// is one sendmsg of the session's slices, and what the kernel refuses stays with the session.
#pragma once

#include <uv.h>

#include "transport/link.h"
#include "transport/loop_member.h"
#include "transport/tcp.h"

namespace sockudo::transport {

class Loop;

class FdLink final : public Link, public DeferredReader {
 public:
  // `connecting`: a client's non-blocking connect is in progress (reported by on_link_connected,
  // or on_link_eof with the connect error).
  FdLink(Loop& loop, int fd, bool connecting);
  ~FdLink() override;
  FdLink(const FdLink&) = delete;
  FdLink& operator=(const FdLink&) = delete;

  int fd() const { return fd_; }
  int os_fd() const override { return closed_ ? -1 : fd_; }
  void set_events(LinkEvents* events) override { events_ = events; }
  LinkWrite write(std::span<const io::Slice> slices) override;
  void set_wants(bool read, bool write) override;
  bool shutdown_write() override;
  void close(void (*done)(void*), void* arg) override;
  void read_from_loop() override;

 private:
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_closed(uv_handle_t* handle);
  void on_readable();
  void update();

  Loop& loop_;
  int fd_;
  bool connecting_;
  bool closed_ = false;
  bool poll_ready_ = false;
  bool want_read_ = false;
  bool want_write_ = false;
  bool not_socket_ = false;  // a pipe: read()/writev() instead of recv()/send() (stream_io.h)
  int poll_events_ = 0;
  uv_poll_t poll_;
  LinkEvents* events_ = nullptr;
  void (*done_)(void*) = nullptr;
  void* done_arg_ = nullptr;
};

}  // namespace sockudo::transport
