#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace tiercache::backend {

// A Linux eventfd: a file descriptor that poll() sees as readable once Signal() was called,
// until Clear(). Lets a thread wait on a socket and on "something happened" at once.
// Signal() and Clear() are safe from any thread.
class EventFd {
 public:
  EventFd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~EventFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;

  // False if the kernel refused the eventfd; fd() is then -1, which poll() ignores.
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void Signal() const {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd_, &one, sizeof one);  // full only at 2^64-2
  }
  void Clear() const {
    uint64_t count;
    [[maybe_unused]] const ssize_t n = ::read(fd_, &count, sizeof count);  // EAGAIN: was clear
  }

 private:
  int fd_;
};

}  // namespace tiercache::backend
