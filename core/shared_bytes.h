#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace tiercache {

// A block of memory that holds bytes read by others, freed when the last reference goes.
// The L1 entry is one: it keeps its key and a small value inline, and a reader's
// reference keeps them readable after the entry was overwritten or removed. The block
// must have been allocated with ::operator new and need no destructor once its owner has
// let go of everything else it held.
struct BytesHolder {
  std::atomic<uint32_t> refs{1};

  void Retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void Release() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) ::operator delete(this);
  }
};

// An immutable byte string shared without copies: a view, and what keeps the viewed
// bytes alive (a shared std::string, or a BytesHolder such as an L1 entry). A null
// SharedBytes holds no value; an empty one holds the empty value.
//
// Reads like the std::shared_ptr<const std::string> it stands in for: `*bytes` and
// `bytes->size()`, with std::string_view in place of std::string.
class SharedBytes {
 public:
  SharedBytes() = default;
  SharedBytes(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): a null value
  // NOLINTNEXTLINE(google-explicit-constructor): every shared string is shared bytes
  SharedBytes(std::shared_ptr<const std::string> s) : string_(std::move(s)) {
    if (string_) view_ = *string_;
  }
  // Takes a new reference to `holder`, which holds `view`'s bytes.
  SharedBytes(std::string_view view, BytesHolder* holder) : view_(view), holder_(holder) {
    holder_->Retain();
  }
  // A value made from `text`, moved into a shared string.
  static SharedBytes From(std::string text) {
    return SharedBytes(std::make_shared<const std::string>(std::move(text)));
  }

  SharedBytes(const SharedBytes& o) : view_(o.view_), string_(o.string_), holder_(o.holder_) {
    if (holder_ != nullptr) holder_->Retain();
  }
  SharedBytes(SharedBytes&& o) noexcept
      : view_(std::exchange(o.view_, {})),
        string_(std::move(o.string_)),
        holder_(std::exchange(o.holder_, nullptr)) {}
  SharedBytes& operator=(SharedBytes o) noexcept {
    swap(o);
    return *this;
  }
  ~SharedBytes() {
    if (holder_ != nullptr) holder_->Release();
  }
  void swap(SharedBytes& o) noexcept {
    std::swap(view_, o.view_);
    string_.swap(o.string_);
    std::swap(holder_, o.holder_);
  }

  explicit operator bool() const { return string_ != nullptr || holder_ != nullptr; }
  std::string_view operator*() const { return view_; }
  const std::string_view* operator->() const { return &view_; }
  std::string_view view() const { return view_; }

  // The bytes as a shared string: the one held, or a copy of bytes held otherwise.
  std::shared_ptr<const std::string> ToSharedString() const {
    if (string_ || holder_ == nullptr) return string_;
    return std::make_shared<const std::string>(view_);
  }

  friend bool operator==(const SharedBytes& b, std::nullptr_t) { return !b; }

 private:
  std::string_view view_;
  std::shared_ptr<const std::string> string_;
  BytesHolder* holder_ = nullptr;
};

}  // namespace tiercache
