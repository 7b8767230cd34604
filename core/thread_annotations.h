#pragma once

// Clang thread-safety annotations; no-ops for other compilers. A clang build with
// -Wthread-safety checks that guarded members are only touched under their lock.
#if defined(__clang__)
#define TC_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TC_THREAD_ANNOTATION(x)
#endif

#define TC_CAPABILITY(x) TC_THREAD_ANNOTATION(capability(x))
#define TC_GUARDED_BY(x) TC_THREAD_ANNOTATION(guarded_by(x))
#define TC_REQUIRES(...) TC_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define TC_ACQUIRE(...) TC_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define TC_RELEASE(...) TC_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TC_EXCLUDES(...) TC_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define TC_SCOPED_CAPABILITY TC_THREAD_ANNOTATION(scoped_lockable)
#define TC_NO_THREAD_SAFETY_ANALYSIS TC_THREAD_ANNOTATION(no_thread_safety_analysis)

#include <mutex>

namespace tiercache {

// std::mutex with the capability annotation, so the analysis can follow it.
class TC_CAPABILITY("mutex") Mutex {
 public:
  // Critical sections here are short (a hash lookup), so a contended lock is usually free
  // again within a microsecond: spinning briefly first avoids a futex sleep and wake-up,
  // which cost far more than the wait itself.
  void Lock() TC_ACQUIRE() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      CpuRelax();
    }
    mu_.lock();
  }
  void Unlock() TC_RELEASE() { mu_.unlock(); }

 private:
  static void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  static constexpr int kSpins = 64;
  std::mutex mu_;
};

class TC_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) TC_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() TC_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace tiercache
